namespace CommsCredits.Gateway.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Supervision;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using Microsoft.Extensions.Options;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>
/// Session-based charging (RFC 8506 section 5): Reserve opens a session and holds credit for a first slice, Update
/// debits used seconds and holds the next slice, Terminate debits the last seconds, releases the hold and writes the
/// call detail record. The arithmetic runs inside Redis (reserve.lua, usage.lua) so that concurrent calls of one
/// tenant see one balance; what it debits is in the ledger before the answer leaves.
/// </summary>
public sealed class SessionCharging(
    TenantCatalog catalog, CallRating rating, HotState hotState, IOptions<ChargingOptions> options, IOptions<SupervisionOptions> supervisionOptions, TimeProvider timeProvider,
    GatewayMetrics? metrics = null)
{
    /// <summary>The request key under which a session's closing by the supervisor is stored (client request numbers are digits).</summary>
    private const string SupervisorRequest = "supervisor";

    private readonly ChargingOptions settings = options.Value;
    private readonly SupervisionOptions supervision = supervisionOptions.Value;
    private readonly ScriptSettings scriptSettings = ScriptSettings.Of(options.Value, supervisionOptions.Value.WindowMilliseconds(options.Value.ValiditySeconds));

    public async Task<ReserveResponse> ReserveAsync(ReserveRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.NewCall(request.SessionId, request.RequestNumber, request.TenantId, request.UserId, request.CallType, request.CallingNumber, request.CalledNumber);
        RequestValidator.Seconds(request.RequestedSeconds, "requested_seconds");
        hotState.RefuseNewCallsIfLedgerDown();

        var rated = await rating.RateAsync(request.TenantId, request.CallType, request.UserId, request.CallingNumber, request.CalledNumber, cancellationToken);
        if (rated.Refusal is { } refusal)
        {
            return new ReserveResponse { ResultCode = refusal.Code, ResultMessage = refusal.Message };
        }

        var (profile, tariff, now) = (rated.Profile!, rated.Tariff!, rated.RatedAt);
        var fingerprint = RequestFingerprint.Of(
            "Reserve", request.TenantId, request.UserId, Text((int)request.CallType), request.CallingNumber, request.CalledNumber, Text(request.RequestedSeconds));
        var script = ReserveScript(request, fingerprint, tariff, rated.Coverage, now, GrantRequest(request.RequestedSeconds), scriptSettings);
        var reply = await hotState.RunAsync(request.TenantId, HotScriptName.Reserve, script.Keys, script.Arguments, cancellationToken);
        if (reply is null)
        {
            return new ReserveResponse { ResultCode = ResultCode.UserUnknown, ResultMessage = CallRating.UnknownTenant(request.TenantId) };
        }

        if (string.Equals(reply[0], "too_many_sessions", StringComparison.Ordinal))
        {
            metrics?.GrantsDenied.WithLabels(DenialReasons.TooManySessions).Increment();
            throw new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"tenant {request.TenantId} has {settings.MaxOpenSessionsPerTenant} calls in progress, the most allowed (Charging:MaxOpenSessionsPerTenant)"));
        }

        var answer = HotAnswer.Decode(reply[1]!);
        EnsureSameRequest(answer.Fingerprint, fingerprint, request.SessionId, request.RequestNumber);
        await hotState.SettleOpeningAsync(request.TenantId, reply[9], TimeSpan.FromMilliseconds(settings.ReserveDurabilityWaitMs), cancellationToken);
        var currency = profile.Tenant.Currency;
        return new ReserveResponse
        {
            ResultCode = (ResultCode)answer.ResultCode,
            ResultMessage = (ResultCode)answer.ResultCode switch
            {
                ResultCode.CreditLimitReached => "the available balance cannot pay for one billing increment of this call",
                ResultCode.EndUserServiceDenied => CallEntitlements.PoolUsedUp(rated.Coverage.PoolId, request.UserId),
                _ => string.Empty,
            },
            GrantedSeconds = (uint)answer.GrantedSeconds,
            ValiditySeconds = (uint)answer.ValiditySeconds,
            FinalUnitAction = answer.FinalUnit ? FinalUnitAction.Terminate : FinalUnitAction.None,
            Reserved = Money(answer.ReservedMicros, currency),
            Rate = StoredRate(reply, 2, currency),
            GrantedIncludedSeconds = (uint)answer.GrantedIncludedSeconds,
        };
    }

    public async Task<UpdateResponse> UpdateAsync(UpdateRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.Seconds(request.RequestedSeconds, "requested_seconds");
        var outcome = await UseAsync(
            request.TenantId, request.SessionId, request.RequestNumber, request.UsedSeconds, GrantRequest(request.RequestedSeconds), terminationCause: null, cancellationToken);
        if (outcome.Refusal is { } refusal)
        {
            return new UpdateResponse { ResultCode = refusal.Code, ResultMessage = refusal.Message };
        }

        var answer = outcome.Answer!;
        var currency = outcome.Currency!;
        return new UpdateResponse
        {
            ResultCode = (ResultCode)answer.ResultCode,
            ResultMessage = (ResultCode)answer.ResultCode switch
            {
                ResultCode.CreditLimitReached => "the used seconds were debited; the balance cannot pay for one more billing increment",
                ResultCode.EndUserServiceDenied => "the call's included minutes are used up and its user holds no communications credits licence",
                _ => string.Empty,
            },
            GrantedSeconds = (uint)answer.GrantedSeconds,
            ValiditySeconds = (uint)answer.ValiditySeconds,
            FinalUnitAction = answer.FinalUnit ? FinalUnitAction.Terminate : FinalUnitAction.None,
            Charged = Money(answer.ChargedMicros, currency),
            SessionCharged = Money(answer.SessionChargedMicros, currency),
            Reserved = Money(answer.ReservedMicros, currency),
            GrantedIncludedSeconds = (uint)answer.GrantedIncludedSeconds,
        };
    }

    public async Task<TerminateResponse> TerminateAsync(TerminateRequest request, CancellationToken cancellationToken)
    {
        if (!System.Enum.IsDefined(request.TerminationCause))
        {
            throw RequestValidator.Invalid($"termination_cause {(int)request.TerminationCause} is not a known cause");
        }

        if (request.TerminationCause == TerminationCause.SupervisionTimeout)
        {
            throw RequestValidator.Invalid("termination_cause SUPERVISION_TIMEOUT is the gateway's own; a network element cannot send it");
        }

        var cause = request.TerminationCause == TerminationCause.Unspecified ? TerminationCause.Logout : request.TerminationCause;
        var outcome = await UseAsync(request.TenantId, request.SessionId, request.RequestNumber, request.UsedSeconds, requestedSeconds: 0, cause, cancellationToken);
        if (outcome.Refusal is { } refusal)
        {
            return new TerminateResponse { ResultCode = refusal.Code, ResultMessage = refusal.Message };
        }

        var answer = outcome.Answer!;
        var currency = outcome.Currency!;
        return new TerminateResponse
        {
            ResultCode = (ResultCode)answer.ResultCode,
            Charged = Money(answer.ChargedMicros, currency),
            SessionCharged = Money(answer.SessionChargedMicros, currency),
            UsedSeconds = (uint)answer.UsedSeconds,
            BilledSeconds = (uint)answer.BilledSeconds,
            IncludedSeconds = (uint)answer.IncludedSecondsUsed,
        };
    }

    /// <summary>
    /// Closes a session of the tenant if it is still open and nothing was heard from it within validity plus grace,
    /// charging by <see cref="SupervisionOptions.Policy"/> and writing its call record. Returns whether this call
    /// closed it: of several supervisors (and a late request) exactly one does.
    /// </summary>
    public async Task<bool> CloseIfSilentAsync(string tenantId, string sessionId, CancellationToken cancellationToken)
    {
        var profile = await catalog.GetAsync(tenantId, cancellationToken);
        if (profile is null)
        {
            return false;
        }

        var policy = supervision.Policy == SupervisionPolicy.Debit ? "debit" : "release";
        var reply = await RunUsageAsync(profile, sessionId, SupervisorRequest, SupervisorRequest, 0, 0, TerminationCause.SupervisionTimeout, policy, cancellationToken);
        if (reply is null || !string.Equals(reply[0], "ok", StringComparison.Ordinal))
        {
            // No such tenant in the ledger, closed already (by its client or another supervisor), or heard from since it was listed.
            return false;
        }

        await hotState.SettleAsync(tenantId, reply[2], cancellationToken);
        return true;
    }

    /// <summary>Up to <paramref name="limit"/> of the tenant's sessions whose supervision deadline has passed.</summary>
    public async Task<IReadOnlyList<string>> DueSessionsAsync(string tenantId, int limit, CancellationToken cancellationToken)
    {
        var reply = await hotState.RunWithoutLoadingAsync(
            HotScriptName.DueSessions, [HotStateKeys.SessionDeadlines(tenantId)], [Milliseconds(timeProvider.GetUtcNow()), Text(limit)], cancellationToken);
        return reply.Skip(1).OfType<string>().ToList();
    }

    private async Task<UsageOutcome> UseAsync(
        string tenantId, string sessionId, uint requestNumber, uint usedSeconds, long requestedSeconds, TerminationCause? terminationCause, CancellationToken cancellationToken)
    {
        RequestValidator.SessionId(sessionId);
        RequestValidator.RequestNumber(requestNumber, initialOrEvent: false);
        RequestValidator.TenantId(tenantId);
        RequestValidator.Seconds(usedSeconds, "used_seconds");
        var profile = await catalog.GetAsync(tenantId, cancellationToken);
        if (profile is null)
        {
            return UsageOutcome.Refused(ResultCode.UserUnknown, CallRating.UnknownTenant(tenantId));
        }

        var terminate = terminationCause is not null;
        var fingerprint = RequestFingerprint.Of(terminate ? "Terminate" : "Update", Text(usedSeconds), Text(requestedSeconds), Text((int)(terminationCause ?? TerminationCause.Unspecified)));
        var reply = await RunUsageAsync(profile, sessionId, Text(requestNumber), fingerprint, usedSeconds, requestedSeconds, terminationCause, supervision: string.Empty, cancellationToken);
        switch (reply?[0])
        {
            case null:
                return UsageOutcome.Refused(ResultCode.UserUnknown, CallRating.UnknownTenant(tenantId));
            case "unknown_session":
                return UsageOutcome.Refused(ResultCode.UnknownSessionId, $"session {sessionId} is not open (never reserved, denied, or forgotten)");
            case "closed":
                return UsageOutcome.Refused(ResultCode.UnknownSessionId, $"session {sessionId} was already terminated");
            case "too_many_requests":
                throw new RpcException(new Status(
                    StatusCode.ResourceExhausted, $"session {sessionId} has made {settings.MaxRequestsPerSession} requests, the most allowed (Charging:MaxRequestsPerSession)"));
            case "too_long":
                throw new RpcException(new Status(
                    StatusCode.OutOfRange, $"used_seconds would take session {sessionId} past {MoneyLimits.MaxSessionSeconds} seconds, the longest call charged"));
        }

        var answer = HotAnswer.Decode(reply[1]!);
        EnsureSameRequest(answer.Fingerprint, fingerprint, sessionId, requestNumber);
        if (reply.Length > 3)
        {
            // The session's opening, still pending: without it the session journal could not restore this step.
            await hotState.SettleAsync(tenantId, reply[3], cancellationToken);
        }

        await hotState.SettleAsync(tenantId, reply[2], cancellationToken);
        return new UsageOutcome(answer, profile.Tenant.Currency, null);
    }

    /// <summary>Runs usage.lua for a client's Update or Terminate, or (with <paramref name="supervision"/> set) for the supervisor.</summary>
    private Task<string?[]?> RunUsageAsync(
        TenantProfile profile, string sessionId, string request, string fingerprint, uint usedSeconds, long requestedSeconds, TerminationCause? terminationCause,
        string supervision, CancellationToken cancellationToken)
    {
        var script = UsageScript(
            profile.Tenant, sessionId, request, fingerprint, usedSeconds, requestedSeconds, terminationCause, supervision, timeProvider.GetUtcNow(), scriptSettings);
        return hotState.RunAsync(profile.Tenant.TenantId, HotScriptName.Usage, script.Keys, script.Arguments, cancellationToken);
    }

    /// <summary>The keys and arguments of reserve.lua (its header lists them). Internal for the micro-benchmarks, which measure this code itself.</summary>
    internal static ScriptInput ReserveScript(
        ReserveRequest request, string fingerprint, Tariff tariff, CallCoverage coverage, DateTimeOffset now, long grantSeconds, ScriptSettings constants)
    {
        string[] arguments =
        [
            fingerprint, Milliseconds(now), Text(grantSeconds), constants.ValiditySeconds, constants.MaxSessionSeconds,
            .. TariffArguments(tariff),
            Text((int)request.CallType), request.UserId, request.CallingNumber, request.CalledNumber, tariff.DestinationName, tariff.Prefix,
            Milliseconds(tariff.EffectiveFrom), request.SessionId, constants.RetentionSeconds, .. coverage.Arguments(now),
            constants.SupervisionWindowMilliseconds, constants.MaxOpenSessionsPerTenant,
        ];
        string[] keys =
        [
            HotStateKeys.Account(request.TenantId), HotStateKeys.Session(request.TenantId, request.SessionId), HotStateKeys.Lots(request.TenantId),
            HotStateKeys.LotExpiry(request.TenantId), HotStateKeys.SessionDeadlines(request.TenantId), HotStateKeys.Pending(request.TenantId),
        ];
        return new ScriptInput(keys, arguments);
    }

    /// <summary>The keys and arguments of usage.lua (its header lists them). Internal for the micro-benchmarks, which measure this code itself.</summary>
    internal static ScriptInput UsageScript(
        TenantRecord tenant, string sessionId, string request, string fingerprint, uint usedSeconds, long requestedSeconds, TerminationCause? terminationCause,
        string supervision, DateTimeOffset now, ScriptSettings constants)
    {
        var tenantId = tenant.TenantId;
        string[] arguments =
        [
            request, fingerprint, Milliseconds(now), Text(usedSeconds), Text(requestedSeconds),
            constants.ValiditySeconds, constants.MaxSessionSeconds, terminationCause is null ? "0" : "1",
            Text((int)(terminationCause ?? TerminationCause.Unspecified)),
            constants.RetentionSeconds, constants.MaxRequestsPerSession, Ledger.SettlementCodec.FormatMonth(now),
            tenant.TriggerArgument, tenant.LowBalanceLevelsArgument, constants.SupervisionWindowMilliseconds, supervision, sessionId,
        ];
        string[] keys =
        [
            HotStateKeys.Account(tenantId), HotStateKeys.Session(tenantId, sessionId), HotStateKeys.Pending(tenantId), HotStateKeys.Lots(tenantId), HotStateKeys.LotExpiry(tenantId),
            HotStateKeys.SessionDeadlines(tenantId),
        ];
        return new ScriptInput(keys, arguments);
    }

    /// <summary>What a script is run with.</summary>
    internal readonly record struct ScriptInput(string[] Keys, string[] Arguments);

    /// <summary>
    /// The script arguments that come from settings, as the text the scripts take: made once, not formatted again for
    /// every request (they were a quarter of the strings a Reserve's arguments allocated).
    /// </summary>
    internal sealed record ScriptSettings(
        string ValiditySeconds, string MaxSessionSeconds, string RetentionSeconds, string SupervisionWindowMilliseconds, string MaxOpenSessionsPerTenant,
        string MaxRequestsPerSession)
    {
        public static ScriptSettings Of(ChargingOptions settings, long supervisionWindowMilliseconds) => new(
            Text(settings.ValiditySeconds), Text(MoneyLimits.MaxSessionSeconds), Text(settings.SessionRetentionSeconds), Text(supervisionWindowMilliseconds),
            Text(settings.MaxOpenSessionsPerTenant), Text(settings.MaxRequestsPerSession));
    }

    /// <summary>What the client asked for, with 0 meaning the default slice and nothing above the largest slice.</summary>
    private long GrantRequest(uint requestedSeconds) =>
        requestedSeconds == 0 ? settings.DefaultGrantSeconds : Math.Min(requestedSeconds, settings.MaxGrantSeconds);

    private sealed record UsageOutcome(HotAnswer? Answer, string? Currency, Refusal? Refusal)
    {
        public static UsageOutcome Refused(ResultCode code, string message) => new(null, null, new Refusal(code, message));
    }
}
