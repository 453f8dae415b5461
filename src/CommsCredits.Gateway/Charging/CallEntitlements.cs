namespace CommsCredits.Gateway.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Tenants;

/// <summary>
/// The product's rules on who may make which call and what pays for it, decided from the tenant's directory:
/// <list type="bullet">
/// <item>a toll-free inbound call is billed to the tenant that owns the called number, on credit; no user is checked;</item>
/// <item>an outbound or conference dial-out call needs a user of the tenant (5030 USER_UNKNOWN otherwise);</item>
/// <item>an outbound call needs a calling plan; pay-as-you-go sends every outbound call to credit;</item>
/// <item>otherwise the pool that covers the call (domestic plan minutes, a conferencing zone) pays first;</item>
/// <item>credit pays for the rest only if the user holds a communications credits licence; a call that could only be
/// paid from credit by an unlicensed user is refused, 4010 END_USER_SERVICE_DENIED.</item>
/// </list>
/// </summary>
public static class CallEntitlements
{
    public static CallDecision Decide(TenantProfile profile, CallType callType, string userId, string calledNumber)
    {
        var tenantId = profile.Tenant.TenantId;
        var directory = profile.Directory;
        if (callType == CallType.TollFreeInbound)
        {
            return directory.OwnsTollFreeNumber(calledNumber)
                ? new CallDecision(CallCoverage.CreditsOnly, null, string.Empty)
                : CallDecision.Denied(ResultCode.EndUserServiceDenied, $"{calledNumber} is not a toll-free number of tenant '{tenantId}'");
        }

        if (!directory.TryGetUser(userId, out var user))
        {
            return CallDecision.Denied(ResultCode.UserUnknown, $"user '{userId}' is not a user of tenant '{tenantId}'");
        }

        if (callType == CallType.OutboundPstn && user.CallingPlan == CallingPlan.None)
        {
            return CallDecision.Denied(ResultCode.EndUserServiceDenied, $"user '{userId}' has no calling plan, so may not call the public telephone network");
        }

        var pool = callType == CallType.OutboundPstn && user.CallingPlan == CallingPlan.PayAsYouGo ? null : directory.FindPool(callType, calledNumber, user);
        var licensed = user.CommunicationsCreditsLicence;
        var noCredit = $"user '{userId}' holds no communications credits licence";
        if (pool is null)
        {
            return licensed
                ? new CallDecision(CallCoverage.CreditsOnly, null, string.Empty)
                : CallDecision.Denied(ResultCode.EndUserServiceDenied, $"this call would be paid from communications credits and {noCredit}");
        }

        var coverage = new CallCoverage(pool.PoolId, pool.SizeSeconds, licensed);
        return new CallDecision(coverage, null, $"the included minutes of pool '{pool.PoolId}' are used up and {noCredit}");
    }
}

/// <summary>
/// What pays for a call, or why it is refused before it starts. CreditDeniedMessage explains a 4010 that the scripts
/// return later, when the pool runs out for a user who may not use credit.
/// </summary>
public sealed record CallDecision(CallCoverage Coverage, Refusal? Refusal, string CreditDeniedMessage)
{
    public static CallDecision Denied(ResultCode code, string message) => new(CallCoverage.CreditsOnly, new Refusal(code, message), string.Empty);
}
