using System.Diagnostics;
using CommsCredits.Chaos;

// `make chaos`: runs of call load with faults injected one at a time, each run checked against every invariant once
// it has settled. The last line is the summary: `chaos: runs=N faults=N calls=N acked=N lost=N doubled=N`. The exit
// code is 0 only if nothing was lost or doubled and every invariant held; 2 when the run could not be set up.
ChaosSettings settings;
try
{
    settings = ChaosSettings.FromEnvironment();
}
catch (ChaosSetupException exception)
{
    await Console.Error.WriteLineAsync("chaos: " + exception.Message);
    return 2;
}

var runCount = Math.Max(1, settings.TotalSeconds / settings.RunSeconds);
Output.Line($"chaos: seed {settings.Seed} (CHAOS_SEED), {runCount} run(s) of {settings.RunSeconds} s, a fault every {settings.FaultIntervalSeconds} s from [{string.Join(",", settings.Faults.Select(FaultNames.Of))}], {settings.CallsInParallel} calls in parallel");
var total = Stopwatch.StartNew();
ChaosStack stack;
try
{
    stack = await ChaosStack.StartAsync(settings, CancellationToken.None);
}
catch (Exception exception) when (exception is ChaosSetupException or InvalidOperationException or TimeoutException)
{
    await Console.Error.WriteLineAsync("chaos: setup failed: " + exception.Message);
    return 2;
}

await using (stack)
{
    Output.Line($"chaos: stack up in {total.Elapsed.TotalSeconds:0.0} s: redis {stack.Redis.Configuration}, postgres port {stack.Postgres.Port}, {string.Join(", ", stack.Gateways.Select(gateway => gateway.Name + " port " + gateway.Port))}; logs in {stack.Directory}");
    var observations = new Observations();
    var random = new Random(settings.Seed);
    var faults = new FaultInjector(settings, stack, observations, random);
    var driver = new CallDriver(settings, stack, observations);
    var checker = new InvariantChecker(settings, stack, observations);
    var failedRuns = 0;
    CheckResult? last = null;
    var schedule = new Queue<FaultKind>();
    for (var run = 1; run <= runCount; run++)
    {
        var runClock = Stopwatch.StartNew();
        var faultsBefore = faults.Count;
        var callsBefore = observations.Calls;
        var ackedBefore = observations.Acked;
        Output.Line($"run {run}/{runCount}: load for {settings.RunSeconds} s");
        var load = driver.RunAsync(run, TimeSpan.FromSeconds(settings.RunSeconds));

        // One fault at a time, each kind in turn (shuffled per cycle), until the load's time is up.
        // A fault is due every FaultIntervalSeconds from the start of the run (a slow one delays the next, never stacks
        // two), and none starts in the last few seconds, so that every fault's recovery is under load.
        var lastStart = TimeSpan.FromSeconds(settings.RunSeconds - 5);
        for (var due = TimeSpan.FromSeconds(settings.FaultIntervalSeconds); due < lastStart && runClock.Elapsed < lastStart; due += TimeSpan.FromSeconds(settings.FaultIntervalSeconds))
        {
            if (due > runClock.Elapsed)
            {
                await Task.Delay(due - runClock.Elapsed);
            }

            if (schedule.Count == 0)
            {
                foreach (var kind in settings.Faults.OrderBy(_ => random.Next()))
                {
                    schedule.Enqueue(kind);
                }
            }

            await faults.InjectAsync(schedule.Dequeue(), CancellationToken.None);
        }

        await load;
        Output.Line($"run {run}: load done after {runClock.Elapsed.TotalSeconds:0.0} s: {observations.Calls - callsBefore} calls, {observations.Acked - ackedBefore} acked, {faults.Count - faultsBefore} faults; retries so far {observations.Retries}, duplicates {observations.DuplicatesSent}, short deadlines {observations.ShortDeadlines}, ended by 5002 {observations.EndedUnknownSession}, abandoned {observations.Abandoned}, silent (left to supervision) {observations.WentSilent}, denied {observations.Denied}");
        try
        {
            last = await checker.CheckAsync(CancellationToken.None);
        }
#pragma warning disable CA1031 // A check that cannot be made fails the run; it must not end the process without the summary.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            last = new CheckResult(last?.Lost ?? 0, last?.Doubled ?? 0, ["check: could not be completed: " + exception.GetType().Name + ": " + exception.Message]);
        }

        foreach (var failure in last.Failures.OrderBy(failure => failure.StartsWith("lost", StringComparison.Ordinal) || failure.StartsWith("doubled", StringComparison.Ordinal) ? 0 : 1).Take(50))
        {
            Output.Line($"  FAILED {failure}");
        }

        if (last.Failures.Count > 50)
        {
            Output.Line($"  ... and {last.Failures.Count - 50} more failures");
        }

        failedRuns += last.Failures.Count > 0 || last.Lost > 0 || last.Doubled > 0 ? 1 : 0;
        Output.Line($"run {run}: {(last.Failures.Count == 0 ? "every invariant held" : last.Failures.Count + " invariant failures")} ({runClock.Elapsed.TotalSeconds:0.0} s with settling)");
    }

    Output.Line($"chaos: {total.Elapsed.TotalSeconds:0} s in all, {failedRuns} run(s) failed");
    Output.Line($"chaos: runs={runCount} faults={faults.Count} calls={observations.Calls} acked={observations.Acked} lost={last?.Lost ?? 0} doubled={last?.Doubled ?? 0}");
    return failedRuns == 0 ? 0 : 1;
}
