namespace CommsCredits.Tests.Storage;

using CommsCredits.Gateway.Storage;
using Shouldly;
using Xunit;

/// <summary>Reloads that start after the call, shared by every caller that asks while one is in flight.</summary>
public sealed class FreshFlightTests
{
    [Fact]
    public async Task Callers_during_a_run_share_one_later_run_instead_of_joining_it()
    {
        // Proves freshness and coalescing: the first caller starts run 1; 50 callers arriving while it is in flight
        // all get run 2, which starts only once run 1 has ended (so it reads what was committed before they asked),
        // and no third run is made.
        var flight = new FreshFlight<int>();
        var started = 0;
        var releases = new[] { NewGate(), NewGate() };
        var runStarted = new[] { NewGate(), NewGate() };
        async Task<int> Work(string key)
        {
            var run = Interlocked.Increment(ref started);
            runStarted[run - 1].SetResult();
            await releases[run - 1].Task;
            return run;
        }

        var first = flight.RunAsync("t", Work);
        await runStarted[0].Task;
        var later = Enumerable.Range(0, 50).Select(_ => flight.RunAsync("t", Work)).ToList();
        started.ShouldBe(1);

        releases[0].SetResult();
        (await first).ShouldBe(1);
        await runStarted[1].Task;
        releases[1].SetResult();
        (await Task.WhenAll(later)).ShouldAllBe(run => run == 2);
        started.ShouldBe(2);
    }

    [Fact]
    public async Task Keys_run_independently_and_a_failed_run_fails_only_its_callers()
    {
        // Proves keys do not wait for each other, a failure reaches the callers of that run, the queued run still
        // goes ahead after a failure, and once nothing is in flight a new call starts a new run.
        var flight = new FreshFlight<string>();
        var release = NewGate();
        var runs = 0;
        async Task<string> Failing(string key)
        {
            Interlocked.Increment(ref runs);
            await release.Task;
            throw new InvalidOperationException("load failed");
        }

        var failing = flight.RunAsync("a", Failing);
        var queued = flight.RunAsync("a", key => Task.FromResult("reloaded " + key));
        (await flight.RunAsync("b", key => Task.FromResult("loaded " + key))).ShouldBe("loaded b");

        release.SetResult();
        await Should.ThrowAsync<InvalidOperationException>(() => failing);
        (await queued).ShouldBe("reloaded a");
        (await flight.RunAsync("a", key => Task.FromResult("again " + key))).ShouldBe("again a");
        runs.ShouldBe(1);
    }

    private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
