namespace CommsCredits.Chaos;

using System.Diagnostics;
using System.Globalization;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;

/// <summary>What one answer said, whatever the request: enough to compare two answers to the same request.</summary>
public sealed record Answer(ResultCode Code, long ChargedMicros, long? SessionChargedMicros, uint GrantedSeconds, bool FinalUnit, string Message);

/// <summary>
/// Drives calls like a pair of SBCs would: Reserve, a few Updates, Terminate (and some Debit events), over both
/// gateways. A request that fails for want of an answer (UNAVAILABLE, a deadline, a broken connection) is retried
/// with the same session and request number on the other gateway until <see cref="ChaosSettings.RetryBudget"/> runs
/// out; some requests are sent twice at once on purpose, some with a deadline too short to be met. A call whose
/// Update or Terminate gets 5002 ends there; the checker then requires that supervision closed it (a session must
/// survive the loss of Redis).
/// </summary>
public sealed class CallDriver(ChaosSettings settings, ChaosStack stack, Observations observations)
{
    public static IReadOnlyList<string> Users { get; } = ["alice@chaos.example", "bob@chaos.example", "carol@chaos.example"];

    private const string CallingNumber = "+441632960000";

    /// <summary>Runs <see cref="ChaosSettings.CallsInParallel"/> call loops until <paramref name="duration"/> has passed; calls in progress then finish.</summary>
    public Task RunAsync(int run, TimeSpan duration)
    {
        var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var loops = new Task[settings.CallsInParallel];
        for (var loop = 0; loop < loops.Length; loop++)
        {
            var random = new Random(HashCode.Combine(settings.Seed, run, loop));
            var prefix = string.Create(CultureInfo.InvariantCulture, $"chaos;{settings.Seed};r{run};l{loop};");
            loops[loop] = Task.Run(() => LoopAsync(random, prefix, stopAt));
        }

        return Task.WhenAll(loops);
    }

    private async Task LoopAsync(Random random, string sessionPrefix, long stopAt)
    {
        for (var sequence = 0; Stopwatch.GetTimestamp() < stopAt; sequence++)
        {
            var tenantId = stack.TenantIds[random.Next(stack.TenantIds.Count)];
            var tariff = Tariff.All[random.Next(Tariff.All.Count)];
            var user = Users[random.Next(Users.Count)];
            var sessionId = sessionPrefix + sequence.ToString(CultureInfo.InvariantCulture);
            if (random.Next(100) < settings.DebitEventPercent)
            {
                await DebitEventAsync(random, new SessionRecord(tenantId, sessionId, tariff, isEvent: true), user);
            }
            else
            {
                await CallAsync(random, new SessionRecord(tenantId, sessionId, tariff, isEvent: false), user);
            }
        }
    }

    private async Task CallAsync(Random random, SessionRecord session, string user)
    {
        observations.CallStarted(session);
        var reserve = new ReserveRequest
        {
            SessionId = session.SessionId, RequestNumber = 0, TenantId = session.TenantId, UserId = user, CallType = CallType.OutboundPstn,
            CallingNumber = CallingNumber, CalledNumber = session.Tariff.CalledNumber, RequestedSeconds = (uint)random.Next(30, 301),
        };
        var reserved = await SendAsync(random, session, 0, async (client, options) => Of(await client.ReserveAsync(reserve, options)));
        if (reserved is null)
        {
            return;
        }

        if (reserved.Code != ResultCode.Success)
        {
            NoteRefusal(session, 0, reserved);
            return;
        }

        var granted = reserved.GrantedSeconds;
        var final = reserved.FinalUnit;
        var silentAfter = random.Next(100) < settings.SilentPercent ? random.Next(0, 3) : -1;
        uint number = 1;
        for (var updates = random.Next(0, 4); updates > 0 && !final; updates--, number++)
        {
            if (silentAfter == number - 1)
            {
                // The SBC crashes: nothing more is heard of this call; supervision closes it.
                observations.CallWentSilent();
                return;
            }

            await Task.Delay(random.Next(20, 250));
            var used = (uint)random.Next(1, (int)Math.Max(1, granted) + 1);
            session.UsedSecondsByRequest[number] = used;
            var update = new UpdateRequest
            {
                SessionId = session.SessionId, RequestNumber = number, TenantId = session.TenantId, UsedSeconds = used, RequestedSeconds = (uint)random.Next(30, 301),
            };
            var answer = await SendAsync(random, session, number, async (client, options) => Of(await client.UpdateAsync(update, options)));
            if (answer is null || EndsCall(session, number, answer))
            {
                return;
            }

            granted = answer.GrantedSeconds;
            final = answer.FinalUnit || answer.Code == ResultCode.CreditLimitReached;
        }

        if (silentAfter >= 0)
        {
            observations.CallWentSilent();
            return;
        }

        var lastUsed = (uint)random.Next(0, (int)granted + 1);
        session.UsedSecondsByRequest[number] = lastUsed;
        var terminate = new TerminateRequest
        {
            SessionId = session.SessionId, RequestNumber = number, TenantId = session.TenantId, UsedSeconds = lastUsed, TerminationCause = TerminationCause.Logout,
        };
        var terminated = await SendAsync(random, session, number, async (client, options) => Of(await client.TerminateAsync(terminate, options)));
        if (terminated is not null && !EndsCall(session, number, terminated))
        {
            session.FinalAckedChargedMicros = terminated.SessionChargedMicros;
        }
    }

    private async Task DebitEventAsync(Random random, SessionRecord session, string user)
    {
        observations.CallStarted(session);
        var used = (uint)random.Next(1, 601);
        session.UsedSecondsByRequest[0] = used;
        var debit = new DebitRequest
        {
            SessionId = session.SessionId, RequestNumber = 0, TenantId = session.TenantId, UserId = user, CallType = CallType.OutboundPstn,
            CallingNumber = CallingNumber, CalledNumber = session.Tariff.CalledNumber, UsedSeconds = used,
        };
        var answer = await SendAsync(random, session, 0, async (client, options) => Of(await client.DebitAsync(debit, options)));
        if (answer is null)
        {
            return;
        }

        if (answer.Code != ResultCode.Success)
        {
            NoteRefusal(session, 0, answer);
            return;
        }

        observations.AckedCharge();
        session.MaxAckedChargedMicros = Math.Max(session.MaxAckedChargedMicros, answer.ChargedMicros);
        session.FinalAckedChargedMicros = answer.ChargedMicros;
    }

    /// <summary>Notes what an Update or Terminate answer acknowledged; true when the call cannot go on.</summary>
    private bool EndsCall(SessionRecord session, uint number, Answer answer)
    {
        if (answer.SessionChargedMicros is { } charged && answer.Code is ResultCode.Success or ResultCode.CreditLimitReached)
        {
            session.MaxAckedChargedMicros = Math.Max(session.MaxAckedChargedMicros, charged);
        }

        switch (answer.Code)
        {
            case ResultCode.Success:
                observations.AckedCharge();
                return false;
            case ResultCode.CreditLimitReached:
                return false;
            case ResultCode.UnknownSessionId:
                session.EndedByUnknownSession = true;
                observations.EndedByUnknownSession();
                return true;
            default:
                NoteRefusal(session, number, answer);
                return true;
        }
    }

    private void NoteRefusal(SessionRecord session, uint number, Answer answer)
    {
        observations.CallDenied();
        if (answer.Code != ResultCode.CreditLimitReached)
        {
            // Every tenant is funded far beyond a run, its users are licensed and every called number is rated.
            observations.Violations.Enqueue($"{session.TenantId} {session.SessionId} #{number}: unexpected {answer.Code}: {answer.Message}");
        }
    }

    /// <summary>
    /// Sends one request until it is answered: on a failure without an answer, again (same session and request number)
    /// to the other gateway after a short backoff. Null when the retry budget ran out or the request was refused
    /// in a way no retry fixes; the call is then given up, as an SBC would.
    /// </summary>
    private async Task<Answer?> SendAsync(Random random, SessionRecord session, uint number, Func<ChargingClient, CallOptions, Task<Answer>> call)
    {
        var giveUpAt = Stopwatch.GetTimestamp() + (long)(settings.RetryBudget.TotalSeconds * Stopwatch.Frequency);
        var gateway = random.Next(stack.Gateways.Count);
        for (var attempt = 0; ; attempt++)
        {
            Attempt outcome;
            if (random.Next(100) < settings.DuplicatePercent)
            {
                observations.DuplicateSent();
                outcome = await SendTwiceAsync(session, number, call, Deadline(random), Deadline(random));
            }
            else
            {
                outcome = await TryOnceAsync(stack.Gateways[gateway], call, Deadline(random));
            }

            if (outcome.Answer is not null)
            {
                return outcome.Answer;
            }

            if (outcome.Fatal is not null)
            {
                observations.Violations.Enqueue($"{session.TenantId} {session.SessionId} #{number}: {outcome.Fatal}");
                session.Abandoned = true;
                observations.CallAbandoned();
                return null;
            }

            if (Stopwatch.GetTimestamp() > giveUpAt)
            {
                session.Abandoned = true;
                observations.CallAbandoned();
                return null;
            }

            observations.Retried();
            gateway = (gateway + 1) % stack.Gateways.Count;
            await Task.Delay(Math.Min(1000, 50 << Math.Min(attempt, 5)) + random.Next(50));
        }
    }

    private DateTime Deadline(Random random)
    {
        if (random.Next(100) < settings.ShortDeadlinePercent)
        {
            observations.ShortDeadlineSent();
            return DateTime.UtcNow.AddMilliseconds(random.Next(5, (int)settings.ShortDeadlineMax.TotalMilliseconds + 1));
        }

        return DateTime.UtcNow + settings.RequestDeadline;
    }

    /// <summary>The same request to both gateways at once; two answers must be the same answer.</summary>
    private async Task<Attempt> SendTwiceAsync(SessionRecord session, uint number, Func<ChargingClient, CallOptions, Task<Answer>> call, DateTime firstDeadline, DateTime secondDeadline)
    {
        var redisLossesBefore = observations.RedisLosses;
        var first = TryOnceAsync(stack.Gateways[0], call, firstDeadline);
        var second = TryOnceAsync(stack.Gateways[1], call, secondDeadline);
        var outcomes = await Task.WhenAll(first, second);
        if (outcomes[0].Answer is { } one && outcomes[1].Answer is { } other && one != other
            && !(observations.RedisLosses != redisLossesBefore && (one.Code == ResultCode.UnknownSessionId || other.Code == ResultCode.UnknownSessionId)))
        {
            // Only a session closed in between (by supervision, which the checker verifies) may turn the stored answer
            // into 5002; the restored session of a lost Redis answers as the lost one did.
            observations.Violations.Enqueue($"{session.TenantId} {session.SessionId} #{number}: two answers to one request differ: {one} / {other}");
        }

        // The client was told whatever either answer said: a success counts (its charge must be in the ledger).
        var answers = outcomes.Select(outcome => outcome.Answer).OfType<Answer>().ToArray();
        return answers.Length > 0
            ? new Attempt(answers.FirstOrDefault(answer => answer.Code == ResultCode.Success) ?? answers[0], null)
            : new Attempt(null, outcomes[0].Fatal ?? outcomes[1].Fatal);
    }

    private static async Task<Attempt> TryOnceAsync(GatewayProcess gateway, Func<ChargingClient, CallOptions, Task<Answer>> call, DateTime deadline)
    {
        var life = gateway.Life;
        var sent = Stopwatch.GetTimestamp();
        var response = ResponseWitness.Watch();
        try
        {
            var answer = await call(gateway.Charging, new CallOptions(Deadline: deadline));
            life.RequestEnded(sent, RequestEnd.Answered);
            return new Attempt(answer, null);
        }
        catch (RpcException exception) when (exception.StatusCode is StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.Unknown or StatusCode.Internal or StatusCode.Aborted)
        {
            // No answer: nothing was acknowledged, so the same request is sent again.
            life.RequestEnded(sent, response.ResponseSeen ? RequestEnd.Refused : RequestEnd.Broken, $"{exception.StatusCode}: {exception.Status.Detail}");
            return new Attempt(null, null);
        }
        catch (RpcException exception) when (exception.StatusCode is StatusCode.DeadlineExceeded)
        {
            return new Attempt(null, null);
        }
        catch (RpcException exception)
        {
            return new Attempt(null, $"{exception.StatusCode}: {exception.Status.Detail}");
        }
    }

    private static Answer Of(ReserveResponse response) =>
        new(response.ResultCode, 0, null, response.GrantedSeconds, response.FinalUnitAction == FinalUnitAction.Terminate, response.ResultMessage);

    private static Answer Of(UpdateResponse response) =>
        new(response.ResultCode, response.Charged?.AmountMicros ?? 0, response.SessionCharged?.AmountMicros, response.GrantedSeconds,
            response.FinalUnitAction == FinalUnitAction.Terminate, response.ResultMessage);

    private static Answer Of(TerminateResponse response) =>
        new(response.ResultCode, response.Charged?.AmountMicros ?? 0, response.SessionCharged?.AmountMicros, 0, FinalUnit: true, response.ResultMessage);

    private static Answer Of(DebitResponse response) =>
        new(response.ResultCode, response.Charged?.AmountMicros ?? 0, response.Charged?.AmountMicros, 0, FinalUnit: true, response.ResultMessage);

    private sealed record Attempt(Answer? Answer, string? Fatal);
}
