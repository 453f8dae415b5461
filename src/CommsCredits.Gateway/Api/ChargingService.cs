namespace CommsCredits.Gateway.Api;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Grpc.Server;
using Microsoft.Extensions.Logging;

/// <summary>
/// The commscredits.v1.Charging service: one handler per RPC, bound by name from the proto descriptor. Each runs in a
/// logging scope with the request's SessionId and TenantId, so every line logged while charging it carries them as fields,
/// and so does what the transport logs about the call's end (a handler failure, the status it ended with); its answer is
/// counted by result code (and a denial by reason) in the metrics.
/// </summary>
public sealed class ChargingService(SessionCharging sessions, EventCharging events, ILogger<ChargingService> logger, GatewayMetrics? metrics = null)
{

    public Task<ReserveResponse> Reserve(ReserveRequest request, ServerCallContext context) =>
        InScopeAsync("Reserve", request.SessionId, request.TenantId, request, context, sessions.ReserveAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context) =>
        InScopeAsync("Update", request.SessionId, request.TenantId, request, context, sessions.UpdateAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<TerminateResponse> Terminate(TerminateRequest request, ServerCallContext context) =>
        InScopeAsync("Terminate", request.SessionId, request.TenantId, request, context, sessions.TerminateAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<DebitResponse> Debit(DebitRequest request, ServerCallContext context) =>
        InScopeAsync("Debit", request.SessionId, request.TenantId, request, context, events.DebitAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<RefundResponse> Refund(RefundRequest request, ServerCallContext context) =>
        InScopeAsync("Refund", request.SessionId, request.TenantId, request, context, events.RefundAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<CheckBalanceResponse> CheckBalance(CheckBalanceRequest request, ServerCallContext context) =>
        InScopeAsync("CheckBalance", sessionId: null, request.TenantId, request, context, events.CheckBalanceAsync, static response => (response.ResultCode, response.ResultMessage));

    public Task<PriceEnquiryResponse> PriceEnquiry(PriceEnquiryRequest request, ServerCallContext context) =>
        InScopeAsync("PriceEnquiry", sessionId: null, request.TenantId, request, context, events.PriceEnquiryAsync, static response => (response.ResultCode, response.ResultMessage));

    /// <summary>
    /// Runs the handler inside a scope with the request's ids, then counts its answer. The scope is opened here, inside
    /// the async method, so that it ends with the handler and never flows back into the transport's context; the
    /// transport opens the same state again for its own lines about the call (<see cref="ServerCallContext.LogScope"/>).
    /// </summary>
    private async Task<TResponse> InScopeAsync<TRequest, TResponse>(
        string method, string? sessionId, string tenantId, TRequest request, ServerCallContext context,
        Func<TRequest, CancellationToken, Task<TResponse>> handler, Func<TResponse, (ResultCode Code, string Message)> result)
    {
        var ids = new ChargingLogScope(sessionId, tenantId);
        context.LogScope = ids;
        using var scope = logger.BeginScope(ids);
        var response = await handler(request, context.CancellationToken);
        if (metrics is not null)
        {
            var (code, message) = result(response);
            metrics.Answered(method, code, message);
        }

        return response;
    }
}

/// <summary>
/// The fields of a charging call's log lines: SessionId (for the session RPCs and events that name one) and TenantId, as
/// structured fields (the JSON console formatter writes each pair) and as "SessionId:s TenantId:t" in text.
/// </summary>
internal sealed class ChargingLogScope(string? sessionId, string tenantId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => sessionId is null ? 1 : 2;

    public KeyValuePair<string, object?> this[int index] => (index, sessionId) switch
    {
        (0, null) or (1, not null) => new("TenantId", tenantId),
        (0, not null) => new("SessionId", sessionId),
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "a charging log scope has " + Count + " fields"),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var index = 0; index < Count; index++)
        {
            yield return this[index];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => sessionId is null ? "TenantId:" + tenantId : "SessionId:" + sessionId + " TenantId:" + tenantId;
}
