namespace CommsCredits.Bench;

using System.Diagnostics;

/// <summary>One operation of a workload: a Reserve or a whole call. Its arguments: where to record, whether to record, the intended start (0: now).</summary>
public delegate Task Operation(PhaseRecorders recorders, bool recording, long intendedStart);

/// <summary>What one phase did in its measured seconds.</summary>
public sealed record PhaseResult(string Name, PhaseRecorders Recorders, double Seconds, long Operations, long Dropped, double? FixedRate);

/// <summary>A phase's result and what the gateway's memory (resident bytes) and allocations did during it.</summary>
public sealed record MeasuredPhase(PhaseResult Result, long RssStart, long RssMax, long RssEnd, double AllocatedBytesPerRequest, double GatewayRequests, IReadOnlyList<double> RequestsEachGateway, double GatewayCpuSeconds, double RedisCpuSeconds, double PostgresCpuSeconds, double LoadGeneratorCpuSeconds, IReadOnlyList<(string Command, long Calls, long Microseconds)> RedisCommands, IReadOnlyList<long> RssEachMinute);

/// <summary>
/// Drives one workload for a warm-up (not recorded) and then the measured seconds, either as fast as possible with a
/// fixed number of operations in flight (closed loop), or at a fixed rate (open loop). At a fixed rate every
/// operation has an intended start on the schedule and its first request's latency counts from then, not from when it
/// was sent, so a stalled gateway cannot hide its stall by slowing the load (no coordinated omission); an operation
/// due while <see cref="BenchSettings.MaxInFlight"/> are outstanding is dropped and counted.
/// </summary>
public static class LoadDriver
{
    public static async Task<PhaseResult> AsFastAsPossibleAsync(string name, BenchSettings settings, Operation operation)
    {
        var recorders = new PhaseRecorders();
        var warmupEnds = Stopwatch.GetTimestamp() + Ticks(settings.WarmupSeconds);
        var stopAt = warmupEnds + Ticks(settings.Seconds);
        long operations = 0;
        var workers = new Task[settings.Concurrency];
        for (var worker = 0; worker < workers.Length; worker++)
        {
            workers[worker] = Task.Run(async () =>
            {
                while (true)
                {
                    var now = Stopwatch.GetTimestamp();
                    if (now >= stopAt)
                    {
                        return;
                    }

                    var recording = now >= warmupEnds;
                    await operation(recorders, recording, 0);
                    if (recording)
                    {
                        Interlocked.Increment(ref operations);
                    }
                }
            });
        }

        await Task.WhenAll(workers);
        // The measured window ends when the last operation started in it has finished.
        var seconds = (double)(Stopwatch.GetTimestamp() - warmupEnds) / Stopwatch.Frequency;
        return new PhaseResult(name, recorders, seconds, operations, 0, null);
    }

    public static async Task<PhaseResult> AtFixedRateAsync(string name, BenchSettings settings, double rate, Operation operation)
    {
        var recorders = new PhaseRecorders();
        var started = Stopwatch.GetTimestamp();
        var warmupEnds = started + Ticks(settings.WarmupSeconds);
        var stopAt = warmupEnds + Ticks(settings.Seconds);
        var interval = Stopwatch.Frequency / rate;
        var inFlight = 0;
        long operations = 0;
        long dropped = 0;
        var outstanding = new List<Task>();
        for (long sequence = 0; ; sequence++)
        {
            var intended = started + (long)(sequence * interval);
            if (intended >= stopAt)
            {
                break;
            }

            var wait = intended - Stopwatch.GetTimestamp();
            if (wait > Stopwatch.Frequency / 1000)
            {
                // Timers fire about every millisecond: the operations due meanwhile are started together on waking.
                await Task.Delay(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
            }

            var recording = intended >= warmupEnds;
            if (Volatile.Read(ref inFlight) >= settings.MaxInFlight)
            {
                if (recording)
                {
                    dropped++;
                }

                continue;
            }

            Interlocked.Increment(ref inFlight);
            if (recording)
            {
                operations++;
            }

            var task = RunAsync(operation, recorders, recording, intended, () => Interlocked.Decrement(ref inFlight));
            if (recording)
            {
                outstanding.Add(task);
            }
        }

        await Task.WhenAll(outstanding);
        return new PhaseResult(name, recorders, settings.Seconds, operations, dropped, rate);
    }

    private static async Task RunAsync(Operation operation, PhaseRecorders recorders, bool recording, long intended, Action done)
    {
        try
        {
            await Task.Yield();
            await operation(recorders, recording, intended);
        }
        finally
        {
            done();
        }
    }

    private static long Ticks(int seconds) => seconds * Stopwatch.Frequency;
}
