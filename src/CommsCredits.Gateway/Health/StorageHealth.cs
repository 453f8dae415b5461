namespace CommsCredits.Gateway.Health;

using CommsCredits.Gateway.Balances;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// Probes Redis (PING) and PostgreSQL (SELECT 1) every <see cref="HealthOptions.ProbeIntervalMs"/>, each bounded by
/// <see cref="HealthOptions.ProbeTimeoutMs"/>, and publishes what it found (a server is unreachable after
/// <see cref="HealthOptions.FailedProbesBeforeUnreachable"/> failed probes in a row); from the moment the host starts stopping
/// the gateway reports itself not serving, so that load balancers move new calls elsewhere while it drains.
/// Readers take <see cref="Current"/>; watchers wait on <see cref="NextChange"/>.
/// </summary>
public sealed partial class StorageHealth(
    IHotStore hotStore,
    NpgsqlDataSource dataSource,
    IOptions<HealthOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<StorageHealth> logger) : BackgroundService
{
    private readonly HealthOptions settings = options.Value;
    private readonly Lock gate = new();
    private HealthReport current = HealthReport.NotProbed;
    // Unreachable until a first probe answers.
    private int redisFailures = options.Value.FailedProbesBeforeUnreachable;
    private int postgresFailures = options.Value.FailedProbesBeforeUnreachable;
    private TaskCompletionSource<HealthReport> next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HealthReport Current
    {
        get
        {
            lock (gate)
            {
                return current;
            }
        }
    }

    /// <summary>Completes with the report that follows the current one, once it differs.</summary>
    public Task<HealthReport> NextChange
    {
        get
        {
            lock (gate)
            {
                return next.Task;
            }
        }
    }

    /// <summary>Probes both servers once and publishes the result. Only the probe loop calls it (it keeps the counts).</summary>
    private async Task ProbeAsync(CancellationToken cancellationToken)
    {
        var redis = ProbeRedisAsync(cancellationToken);
        var postgres = ProbePostgresAsync(cancellationToken);
        var redisReachable = Reachable(await redis, ref redisFailures);
        var postgresReachable = Reachable(await postgres, ref postgresFailures);
        var found = new HealthReport(Probed: true, redisReachable, postgresReachable, lifetime.ApplicationStopping.IsCancellationRequested);
        Publish(found);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var stopping = lifetime.ApplicationStopping.Register(() => Publish(Current with { Stopping = true }));
        var interval = TimeSpan.FromMilliseconds(settings.ProbeIntervalMs);
        while (!stoppingToken.IsCancellationRequested)
        {
            await ProbeAsync(stoppingToken);
            try
            {
                await Task.Delay(interval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Counts a probe's outcome; a server is unreachable once enough probes in a row failed.</summary>
    private bool Reachable(bool answered, ref int failuresInRow)
    {
        failuresInRow = answered ? 0 : failuresInRow + 1;
        return failuresInRow < settings.FailedProbesBeforeUnreachable;
    }

    private async Task<bool> ProbeRedisAsync(CancellationToken cancellationToken)
    {
        using var bounded = Bounded(cancellationToken);
        try
        {
            return await hotStore.PingAsync(bounded.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task<bool> ProbePostgresAsync(CancellationToken cancellationToken)
    {
        using var bounded = Bounded(cancellationToken);
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            command.CommandTimeout = Math.Max(1, settings.ProbeTimeoutMs / 1000);
            return await command.ExecuteScalarAsync(bounded.Token) is 1;
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException
            || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private CancellationTokenSource Bounded(CancellationToken cancellationToken)
    {
        var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(settings.ProbeTimeoutMs);
        return bounded;
    }

    private void Publish(HealthReport found)
    {
        TaskCompletionSource<HealthReport> changed;
        HealthReport before;
        lock (gate)
        {
            // Stopping is for good: a probe that started before the host began stopping must not undo it.
            found = found with { Stopping = found.Stopping || current.Stopping };
            if (found == current)
            {
                return;
            }

            before = current;
            current = found;
            changed = next;
            next = new TaskCompletionSource<HealthReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        if (before.Serving != found.Serving)
        {
            if (found.Serving)
            {
                LogServing(logger);
            }
            else
            {
                LogNotServing(logger, found.Reason);
            }
        }

        changed.SetResult(found);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Health: serving (Redis and PostgreSQL reachable)")]
    private static partial void LogServing(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health: not serving ({Reason})")]
    private static partial void LogNotServing(ILogger logger, string reason);
}
