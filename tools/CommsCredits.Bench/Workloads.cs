namespace CommsCredits.Bench;

using System.Diagnostics;
using System.Globalization;
using CommsCredits.Chaos;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>The latencies of one phase, one recorder per method; retried requests (sent again with the same numbers) apart.</summary>
public sealed class PhaseRecorders
{
    public LatencyRecorder Reserve { get; } = new("Reserve");

    public LatencyRecorder Update { get; } = new("Update");

    public LatencyRecorder Terminate { get; } = new("Terminate");

    public LatencyRecorder Retry { get; } = new("retry");

    /// <summary>
    /// At a fixed rate: how long after its intended start the load generator began each operation (its own lateness,
    /// which the latencies above include). Not a request, so not in <see cref="All"/>.
    /// </summary>
    public LatencyRecorder StartLag { get; } = new("start lag");

    private long completedCalls;

    /// <summary>Calls that ended with their Terminate answered 2001.</summary>
    public long CompletedCalls => Interlocked.Read(ref completedCalls);

    public void CallCompleted() => Interlocked.Increment(ref completedCalls);

    public IEnumerable<LatencyRecorder> All => [Reserve, Update, Terminate, Retry];
}

/// <summary>
/// The requests the load generator sends, as network elements do: Reserve alone (a call set up and never heard of
/// again in the measurement), or a whole call (Reserve, 2 Updates, Terminate, each debit durable before its answer).
/// Calls are spread over the tenants, the three destinations and the call types; some requests are sent a second time
/// with the same session and request number, and their second answer must be the first one again.
/// </summary>
public sealed class Workloads(BenchSettings settings, IReadOnlyList<string> tenants, IReadOnlyList<ChargingClient> clients)
{
    public const string CallingNumber = "+441632960000";

    public static IReadOnlyList<string> Users { get; } = ["alice@bench.example", "bob@bench.example", "carol@bench.example"];

    private long sessions;

    /// <summary>One Reserve of a new session; the first latency counts from <paramref name="intendedStart"/> (the open-loop schedule), or from its sending when 0.</summary>
    public async Task ReserveAsync(PhaseRecorders recorders, bool recording, long intendedStart)
    {
        var (session, request) = NewReserve();
        await ReserveOnceAsync(session, request, recorders, recording, intendedStart);
    }

    /// <summary>A whole call: Reserve, Update, Update, Terminate.</summary>
    public async Task CallAsync(PhaseRecorders recorders, bool recording, long intendedStart)
    {
        var (session, reserve) = NewReserve();
        var granted = await ReserveOnceAsync(session, reserve, recorders, recording, intendedStart);
        if (granted is not { } seconds)
        {
            return;
        }

        for (uint number = 1; number <= 2; number++)
        {
            var update = new UpdateRequest
            {
                SessionId = reserve.SessionId, RequestNumber = number, TenantId = reserve.TenantId, UsedSeconds = Math.Min(seconds, 30u), RequestedSeconds = 60,
            };
            var answer = await TimedAsync(recorders.Update, recording, 0, () => ClientFor(session, number).UpdateAsync(update, Options()), response => response.ResultCode);
            if (answer is null)
            {
                return;
            }

            seconds = answer.GrantedSeconds;
            if (Retried())
            {
                await TimedAsync(recorders.Retry, recording, 0, () => ClientFor(session, number + 1).UpdateAsync(update, Options()), response => response.ResultCode == answer.ResultCode && response.GrantedSeconds == answer.GrantedSeconds ? ResultCode.Success : ResultCode.Unspecified);
            }
        }

        var terminate = new TerminateRequest
        {
            SessionId = reserve.SessionId, RequestNumber = 3, TenantId = reserve.TenantId, UsedSeconds = Math.Min(seconds, 12u), TerminationCause = TerminationCause.Logout,
        };
        var terminated = await TimedAsync(recorders.Terminate, recording, 0, () => ClientFor(session, 3).TerminateAsync(terminate, Options()), response => response.ResultCode);
        if (terminated is null)
        {
            return;
        }

        if (recording)
        {
            recorders.CallCompleted();
        }

        if (Retried())
        {
            await TimedAsync(recorders.Retry, recording, 0, () => ClientFor(session, 4).TerminateAsync(terminate, Options()), response => response.ResultCode == terminated.ResultCode && Equals(response.SessionCharged, terminated.SessionCharged) ? ResultCode.Success : ResultCode.Unspecified);
        }
    }

    /// <summary>
    /// The connection of a session's request: each request of a call (and each retry) goes to the next connection, so
    /// that with several gateways (BENCH_GATEWAYS) the requests of one call are served by different gateways, as behind
    /// a load balancer.
    /// </summary>
    private ChargingClient ClientFor(long session, long step) => clients[(int)((session + step) % clients.Count)];

    private (long Session, ReserveRequest Request) NewReserve()
    {
        var number = Interlocked.Increment(ref sessions);
        var random = Random.Shared;
        var tariff = Tariff.All[random.Next(Tariff.All.Count)];
        var request = new ReserveRequest
        {
            SessionId = string.Create(CultureInfo.InvariantCulture, $"bench;{Environment.ProcessId};{number}"),
            RequestNumber = 0,
            TenantId = tenants[random.Next(tenants.Count)],
            UserId = Users[random.Next(Users.Count)],
            CallType = random.Next(100) < settings.ConferencePercent ? CallType.ConferenceDialOut : CallType.OutboundPstn,
            CallingNumber = CallingNumber,
            CalledNumber = tariff.CalledNumber,
            RequestedSeconds = 60,
        };
        return (number, request);
    }

    private async Task<uint?> ReserveOnceAsync(long session, ReserveRequest request, PhaseRecorders recorders, bool recording, long intendedStart)
    {
        var answer = await TimedAsync(recorders.Reserve, recording, intendedStart, () => ClientFor(session, 0).ReserveAsync(request, Options()), response => response.ResultCode);
        if (answer is null)
        {
            return null;
        }

        if (Retried())
        {
            await TimedAsync(recorders.Retry, recording, 0, () => ClientFor(session, 1).ReserveAsync(request, Options()), response => response.ResultCode == answer.ResultCode && response.GrantedSeconds == answer.GrantedSeconds ? ResultCode.Success : ResultCode.Unspecified);
        }

        return answer.GrantedSeconds;
    }

    private bool Retried() => settings.RetryPercent > 0 && Random.Shared.Next(100) < settings.RetryPercent;

    private CallOptions Options() => new(Deadline: DateTime.UtcNow.AddMilliseconds(settings.DeadlineMs));

    /// <summary>Sends one request and records its latency; null (and a failure counted) when it fails or is not answered 2001.</summary>
    private static async Task<T?> TimedAsync<T>(LatencyRecorder recorder, bool recording, long intendedStart, Func<Task<T>> send, Func<T, ResultCode> code)
        where T : class
    {
        var started = intendedStart != 0 ? intendedStart : Stopwatch.GetTimestamp();
        T response;
        try
        {
            response = await send();
        }
#pragma warning disable CA1031 // A failed request is counted, whatever failed; the load goes on.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            if (recording)
            {
                recorder.Fail(exception.GetType().Name + ": " + exception.Message);
            }

            return null;
        }

        if (recording)
        {
            recorder.Record(Stopwatch.GetTimestamp() - started);
        }

        if (code(response) is var result && result != ResultCode.Success)
        {
            if (recording)
            {
                recorder.Fail(result == ResultCode.Unspecified ? "a retry's answer differs from the first answer" : "answered " + result);
            }

            return null;
        }

        return response;
    }
}
