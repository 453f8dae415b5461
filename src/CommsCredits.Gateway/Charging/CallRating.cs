namespace CommsCredits.Gateway.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Tenants;

/// <summary>
/// Finds what a call is charged, from memory: its tenant, whether the caller may make it and what pays for it
/// (<see cref="CallEntitlements"/>; skipped for a price enquiry, which has no user), and the tariff in force now for
/// its rated number. When any is missing the answer is a Diameter refusal (5030 USER_UNKNOWN, 4010
/// END_USER_SERVICE_DENIED, 5031 RATING_FAILED), not an error.
/// </summary>
public sealed class CallRating(TenantCatalog catalog, TimeProvider timeProvider)
{
    public async Task<RatedCall> RateAsync(
        string tenantId, CallType callType, string? userId, string callingNumber, string calledNumber, CancellationToken cancellationToken)
    {
        var profile = await catalog.GetAsync(tenantId, cancellationToken);
        if (profile is null)
        {
            return RatedCall.Refused(ResultCode.UserUnknown, UnknownTenant(tenantId));
        }

        var decision = userId is null ? CallDecision.CreditsOnly : CallEntitlements.Decide(profile, callType, userId, calledNumber);
        if (decision.Refusal is { } refusal)
        {
            return RatedCall.Refused(refusal.Code, refusal.Message);
        }

        var now = timeProvider.GetUtcNow();
        var ratedNumber = RateBook.RatedNumber(callType, callingNumber, calledNumber);
        return profile.Rates.TryFind(callType, ratedNumber, now, out var tariff)
            ? new RatedCall(profile, tariff, now, decision.Coverage, null)
            : RatedCall.Refused(ResultCode.RatingFailed, $"no rate of the {callType} table applies to {ratedNumber}");
    }

    public static string UnknownTenant(string tenantId) => $"tenant '{tenantId}' is unknown";
}

/// <summary>A Diameter result other than success, with why in words.</summary>
public readonly record struct Refusal(ResultCode Code, string Message);

/// <summary>The tenant and tariff of a call rated at <see cref="RatedAt"/>, or why it cannot be charged.</summary>
public sealed record RatedCall(TenantProfile? Profile, Tariff? Tariff, DateTimeOffset RatedAt, CallCoverage Coverage, Refusal? Refusal)
{
    public static RatedCall Refused(ResultCode code, string message) => new(null, null, default, CallCoverage.CreditsOnly, new Refusal(code, message));
}

/// <summary>
/// What pays for a call: the included-minute pool that covers it first (PoolId empty when none, with its size in
/// seconds), then credit if CreditsAllowed. Arguments 19 to 22 of reserve.lua, 17 to 20 of debit_event.lua.
/// </summary>
public sealed record CallCoverage(string PoolId, long PoolSizeSeconds, bool CreditsAllowed)
{
    public static CallCoverage CreditsOnly { get; } = new(string.Empty, 0, true);

    public string[] Arguments(DateTimeOffset now) =>
        [PoolId, AnswerBuilder.Text(PoolSizeSeconds), Ledger.SettlementCodec.FormatMonth(now), CreditsAllowed ? "1" : "0"];
}
