namespace CommsCredits.Gateway.Storage;

using System.Collections.Concurrent;

/// <summary>
/// Concurrent callers asking for the same key share one run of the work (one load of a tenant from PostgreSQL, one
/// rebuild of its hot state), instead of each starting its own. The run belongs to no caller: a caller that gives up
/// (its own cancellation, applied with WaitAsync) does not stop it for the others. Entries last only while a run is
/// in flight, so memory is bounded by the work in progress.
/// </summary>
public sealed class SingleFlight<TResult>
{
    private readonly ConcurrentDictionary<string, Lazy<Task<TResult>>> running = new(StringComparer.Ordinal);

    public Task<TResult> RunAsync(string key, Func<string, Task<TResult>> work)
    {
        var run = running.GetOrAdd(key, static (id, state) => new Lazy<Task<TResult>>(() => state.Flight.RunAndForgetAsync(id, state.Work)), (Flight: this, Work: work));
        return run.Value;
    }

    private async Task<TResult> RunAndForgetAsync(string key, Func<string, Task<TResult>> work)
    {
        try
        {
            return await work(key);
        }
        finally
        {
            running.TryRemove(key, out _);
        }
    }
}
