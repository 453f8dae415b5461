namespace CommsCredits.Gateway.Storage;

/// <summary>
/// Like <see cref="SingleFlight{TResult}"/>, except that a caller only joins a run that has not started yet, so what it
/// gets was loaded after its call and reflects every change committed before it. (A reload asked for by a change
/// notification must not be answered by a load that read PostgreSQL just before the change.) While a run is in
/// flight, every new caller of its key shares one queued run that starts when it ends: a burst of notifications for a
/// tenant costs at most two loads, not one each. Entries last only while a run is in flight or queued.
/// </summary>
public sealed class FreshFlight<TResult>
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, Flight> flights = new(StringComparer.Ordinal);

    public Task<TResult> RunAsync(string key, Func<string, Task<TResult>> work)
    {
        lock (gate)
        {
            if (flights.TryGetValue(key, out var flight))
            {
                return flight.Queued ??= RunInTurnAsync(key, flight, work, flight.Running);
            }

            flight = new Flight();
            flights.Add(key, flight);
            flight.Running = RunInTurnAsync(key, flight, work, previous: null);
            return flight.Running;
        }
    }

    private async Task<TResult> RunInTurnAsync(string key, Flight flight, Func<string, Task<TResult>> work, Task<TResult>? previous)
    {
        // Continue asynchronously in both cases: the caller still holds the gate and has not stored this task yet.
        if (previous is null)
        {
            await Task.Yield();
        }
        else
        {
            await ((Task)previous).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
            lock (gate)
            {
                // The queued run starts now: callers from here on must queue behind it.
                flight.Running = flight.Queued!;
                flight.Queued = null;
            }
        }

        try
        {
            return await work(key);
        }
        finally
        {
            lock (gate)
            {
                if (flight.Queued is null)
                {
                    flights.Remove(key);
                }
            }
        }
    }

    private sealed class Flight
    {
        public Task<TResult> Running { get; set; } = Task.FromResult<TResult>(default!);

        public Task<TResult>? Queued { get; set; }
    }
}
