namespace CommsCredits.Tests.Storage;

using CommsCredits.Gateway.Storage;
using Shouldly;
using Xunit;

/// <summary>One run of the work per key at a time, shared by every caller that asks meanwhile.</summary>
public sealed class SingleFlightTests
{
    [Fact]
    public async Task Callers_of_one_key_share_a_run_and_a_later_call_runs_again()
    {
        // Proves sharing and forgetting: 50 concurrent callers of "a" start the work once; "b" runs on its own; once
        // the run is over, the next caller of "a" starts a new run.
        var flight = new SingleFlight<int>();
        var runs = new Dictionary<string, int>(StringComparer.Ordinal) { ["a"] = 0, ["b"] = 0 };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<int> Work(string key)
        {
            lock (runs)
            {
                runs[key]++;
            }

            await release.Task;
            return key.Length;
        }

        var callers = Enumerable.Range(0, 50).Select(_ => flight.RunAsync("a", Work)).Append(flight.RunAsync("b", Work)).ToList();
        release.SetResult();
        (await Task.WhenAll(callers)).ShouldAllBe(result => result == 1);
        runs["a"].ShouldBe(1);
        runs["b"].ShouldBe(1);

        await flight.RunAsync("a", Work);
        runs["a"].ShouldBe(2);
    }

    [Fact]
    public async Task A_caller_that_gives_up_does_not_stop_the_run_for_the_others()
    {
        // Proves the run belongs to no caller: one caller's wait is cancelled, the other still gets the result.
        var flight = new SingleFlight<string>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<string> Work(string key)
        {
            await release.Task;
            return "loaded " + key;
        }

        using var impatient = new CancellationTokenSource();
        var givingUp = flight.RunAsync("t", Work).WaitAsync(impatient.Token);
        var patient = flight.RunAsync("t", Work);
        await impatient.CancelAsync();
        await Should.ThrowAsync<OperationCanceledException>(() => givingUp);

        release.SetResult();
        (await patient).ShouldBe("loaded t");
    }
}
