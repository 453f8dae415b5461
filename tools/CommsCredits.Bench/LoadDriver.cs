namespace CommsCredits.Bench;

using System.Diagnostics;

/// <summary>One operation of a workload: a Reserve or a whole call. Its arguments: where to record, whether to record, the intended start (0: now).</summary>
public delegate Task Operation(PhaseRecorders recorders, bool recording, long intendedStart);

/// <summary>What one phase did in its measured seconds.</summary>
public sealed record PhaseResult(string Name, PhaseRecorders Recorders, double Seconds, long Operations, long Dropped, double? FixedRate);

/// <summary>A phase's result and what the gateway's memory (resident bytes) and allocations did during it.</summary>
public sealed record MeasuredPhase(PhaseResult Result, long RssStart, long RssMax, long RssEnd, double AllocatedBytesPerRequest, double GatewayRequests, IReadOnlyList<double> RequestsEachGateway, double GatewayCpuSeconds, double RedisCpuSeconds, double PostgresCpuSeconds, double LoadGeneratorCpuSeconds, IReadOnlyList<(string Command, long Calls, long Microseconds)> RedisCommands, IReadOnlyList<long> RssEachMinute, IReadOnlyList<GatewayTime> GatewayTimes);

/// <summary>
/// What one of the gateway's histograms observed during a phase, for one label: <paramref name="Count"/> observations
/// adding up to <paramref name="Sum"/>, in the histogram's unit (seconds; settlements for the batch size).
/// </summary>
public sealed record GatewayTime(string Series, string Label, double Count, double Sum)
{
    /// <summary>The mean of a histogram of seconds, in milliseconds.</summary>
    public double MeanMilliseconds => Sum * 1000 / Count;
}

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
        var scheduled = new TaskCompletionSource<(long Operations, long Dropped, List<Task> Outstanding)>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The schedule runs on a thread of its own, which sleeps until each operation is due: a timer of the thread pool
        // wakes a millisecond or more late (p50 1.2 ms, p99 3.1 ms measured at 100/s), lateness the latencies would include.
        var scheduler = new Thread(() =>
        {
            try
            {
                scheduled.SetResult(Schedule(settings, rate, operation, recorders));
            }
#pragma warning disable CA1031 // Whatever stops the schedule fails the phase, on the caller's side.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                scheduled.SetException(exception);
            }
        })
        {
            IsBackground = true,
            Name = "bench schedule",
        };
        scheduler.Start();
        var (operations, dropped, outstanding) = await scheduled.Task;
        await Task.WhenAll(outstanding);
        return new PhaseResult(name, recorders, settings.Seconds, operations, dropped, rate);
    }

    private static (long Operations, long Dropped, List<Task> Outstanding) Schedule(BenchSettings settings, double rate, Operation operation, PhaseRecorders recorders)
    {
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

            PreciseSleep.Until(intended);
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

        return (operations, dropped, outstanding);
    }

    private static async Task RunAsync(Operation operation, PhaseRecorders recorders, bool recording, long intended, Action done)
    {
        try
        {
            // Runs on the schedule's thread up to the request's first wait (building and sending it): a hop to the thread
            // pool first cost about 75 µs of CPU per operation on this 2-core machine.
            if (recording)
            {
                recorders.StartLag.Record(Stopwatch.GetTimestamp() - intended);
            }

            await operation(recorders, recording, intended);
        }
        finally
        {
            done();
        }
    }

    private static long Ticks(int seconds) => seconds * Stopwatch.Frequency;
}
