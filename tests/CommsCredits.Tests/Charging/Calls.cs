namespace CommsCredits.Tests.Charging;

using CommsCredits.Contracts.V1;

/// <summary>Builders for charging requests, so tests say only what matters to them.</summary>
public static class Calls
{
    public const string Caller = "+14155550100";
    public const string UkFixed = "+442079460000";

    public static string NewSessionId() => "sbc1.example.net;" + Guid.NewGuid().ToString("N");

    public static ReserveRequest Reserve(string tenantId, string sessionId, uint requestedSeconds, string called = UkFixed, CallType callType = CallType.OutboundPstn) => new()
    {
        SessionId = sessionId,
        RequestNumber = 0,
        TenantId = tenantId,
        UserId = "alice@example.com",
        CallType = callType,
        CallingNumber = Caller,
        CalledNumber = called,
        RequestedSeconds = requestedSeconds,
    };

    public static UpdateRequest Update(string tenantId, string sessionId, uint requestNumber, uint usedSeconds, uint requestedSeconds) => new()
    {
        SessionId = sessionId,
        RequestNumber = requestNumber,
        TenantId = tenantId,
        UsedSeconds = usedSeconds,
        RequestedSeconds = requestedSeconds,
    };

    public static TerminateRequest Terminate(string tenantId, string sessionId, uint requestNumber, uint usedSeconds) => new()
    {
        SessionId = sessionId,
        RequestNumber = requestNumber,
        TenantId = tenantId,
        UsedSeconds = usedSeconds,
        TerminationCause = TerminationCause.Logout,
    };
}
