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
                ? CallDecision.CreditsOnly
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
        if (pool is null)
        {
            return licensed
                ? CallDecision.CreditsOnly
                : CallDecision.Denied(ResultCode.EndUserServiceDenied, $"this call would be paid from communications credits and {NoLicence(userId)}");
        }

        return new CallDecision(new CallCoverage(pool.PoolId, pool.SizeSeconds, licensed), null);
    }

    /// <summary>Why the scripts answered 4010 for a covered call: its pool ran out and its user may not use credit.</summary>
    public static string PoolUsedUp(string poolId, string userId) => $"the included minutes of pool '{poolId}' are used up and {NoLicence(userId)}";

    private static string NoLicence(string userId) => $"user '{userId}' holds no communications credits licence";
}

/// <summary>What pays for a call, or why it is refused before it starts.</summary>
public sealed record CallDecision(CallCoverage Coverage, Refusal? Refusal)
{
    /// <summary>Allowed, paid from credit, no pool.</summary>
    public static CallDecision CreditsOnly { get; } = new(CallCoverage.CreditsOnly, null);

    public static CallDecision Denied(ResultCode code, string message) => new(CallCoverage.CreditsOnly, new Refusal(code, message));
}
