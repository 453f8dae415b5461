namespace CommsCredits.Chaos;

using System.Globalization;
using StackExchange.Redis;

public enum FaultKind
{
    GatewayKill,
    GatewayTerm,
    RedisRestart,
    RedisFlush,

    /// <summary>Redis restarts from a snapshot taken a moment before: it comes back with stale state.</summary>
    RedisStale,
    PostgresRestart,
    PostgresStall,
}

public static class FaultNames
{
    public static string Of(FaultKind kind) => kind switch
    {
        FaultKind.GatewayKill => "gateway-kill",
        FaultKind.GatewayTerm => "gateway-term",
        FaultKind.RedisRestart => "redis-restart",
        FaultKind.RedisFlush => "redis-flush",
        FaultKind.RedisStale => "redis-stale",
        FaultKind.PostgresRestart => "postgres-restart",
        FaultKind.PostgresStall => "postgres-stall",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown fault"),
    };
}

/// <summary>
/// Injects one fault at a time into the stack, and says what happened. A fault that breaks a promise the gateway makes
/// about itself (a SIGTERM that does not end the process in time, or with a non-zero exit code, or that breaks off
/// requests in flight without an answer) is a violation.
/// </summary>
public sealed class FaultInjector(ChaosSettings settings, ChaosStack stack, Observations observations, Random random)
{
    private int count;

    public int Count => count;

    public async Task InjectAsync(FaultKind kind, CancellationToken cancellationToken)
    {
        count++;
        var description = kind switch
        {
            FaultKind.GatewayKill => await KillGatewayAsync(cancellationToken),
            FaultKind.GatewayTerm => await TerminateGatewayAsync(cancellationToken),
            FaultKind.RedisRestart => await RestartRedisAsync(),
            FaultKind.RedisFlush => await FlushRedisAsync(),
            FaultKind.RedisStale => await RestartRedisStaleAsync(cancellationToken),
            FaultKind.PostgresRestart => await RestartPostgresAsync(),
            FaultKind.PostgresStall => await StallPostgresAsync(cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown fault"),
        };
        Output.Line($"  fault {count}: {FaultNames.Of(kind)}: {description}");
    }

    private async Task<string> KillGatewayAsync(CancellationToken cancellationToken)
    {
        var gateway = stack.Gateways[random.Next(stack.Gateways.Count)];
        await gateway.KillAsync();
        await Task.Delay(settings.DownDuration, cancellationToken);
        await gateway.StartAsync(cancellationToken);
        return gateway.Name + " killed (SIGKILL) and restarted";
    }

    private async Task<string> TerminateGatewayAsync(CancellationToken cancellationToken)
    {
        var gateway = stack.Gateways[random.Next(stack.Gateways.Count)];
        var life = gateway.Life;
        var bound = TimeSpan.FromSeconds(settings.ShutdownTimeoutSeconds) + settings.ShutdownMargin;
        var (exitCode, elapsed) = await gateway.TerminateAsync(bound);
        var summary = string.Create(
            CultureInfo.InvariantCulture,
            $"{gateway.Name} SIGTERM: exit {(exitCode is { } code ? code.ToString(CultureInfo.InvariantCulture) : "none (killed)")} after {elapsed.TotalSeconds:0.0} s (bound {bound.TotalSeconds:0} s); in flight: {life.Answered} answered, {life.Refused} refused with a status (the gateway's own), {life.Broken} broken off{(life.Failures.IsEmpty ? string.Empty : " [" + string.Join("; ", life.Failures.Select(failure => failure.Key + " x" + failure.Value.ToString(CultureInfo.InvariantCulture))) + "]")}");
        if (exitCode != 0)
        {
            observations.Violations.Enqueue("SIGTERM: " + summary);
        }

        if (life.Broken > 0)
        {
            observations.Violations.Enqueue("SIGTERM did not drain: " + summary);
        }

        await gateway.StartAsync(cancellationToken);
        return summary + "; restarted";
    }

    private async Task<string> RestartRedisAsync()
    {
        observations.RedisLost();
        await stack.Redis.StopAsync();
        await Task.Delay(settings.DownDuration);
        await stack.Redis.StartAgainAsync();
        observations.RedisLost();
        return "redis-server stopped and started again, empty";
    }

    private async Task<string> FlushRedisAsync()
    {
        observations.RedisLost();
        using var redis = await ConnectionMultiplexer.ConnectAsync(stack.Redis.Configuration + ",allowAdmin=true,connectTimeout=2000");
        await redis.GetServer(stack.Redis.Configuration).FlushAllDatabasesAsync();
        observations.RedisLost();
        return "FLUSHALL";
    }

    /// <summary>
    /// SAVE, more load (acknowledged work the snapshot lacks), then a restart that loads the snapshot: the gateways must
    /// not trust that state (docs/charging.md, "A Redis that comes back with old data").
    /// </summary>
    private async Task<string> RestartRedisStaleAsync(CancellationToken cancellationToken)
    {
        using (var redis = await ConnectionMultiplexer.ConnectAsync(stack.Redis.Configuration + ",allowAdmin=true,connectTimeout=2000"))
        {
#pragma warning disable CS0618 // A SAVE in the foreground: the snapshot is on disk when it returns.
            await redis.GetServer(stack.Redis.Configuration).SaveAsync(SaveType.ForegroundSave);
#pragma warning restore CS0618
        }

        await Task.Delay(settings.StaleDuration, cancellationToken);
        observations.RedisLost();
        await stack.Redis.StopAsync();
        await Task.Delay(settings.DownDuration, cancellationToken);
        await stack.Redis.StartAgainAsync();
        stack.Redis.ForgetSnapshot();
        observations.RedisLost();
        return string.Create(CultureInfo.InvariantCulture, $"SAVE, {settings.StaleDuration.TotalSeconds:0} s more load, redis-server restarted from that snapshot");
    }

    private async Task<string> RestartPostgresAsync()
    {
        await stack.Postgres.StopAsync();
        await Task.Delay(settings.DownDuration);
        await stack.Postgres.StartAgainAsync();
        return "PostgreSQL fast shutdown and started again";
    }

    private async Task<string> StallPostgresAsync(CancellationToken cancellationToken)
    {
        await stack.Postgres.PauseAsync();
        try
        {
            await Task.Delay(settings.StallDuration, cancellationToken);
        }
        finally
        {
            await stack.Postgres.ResumeAsync();
        }

        return string.Create(CultureInfo.InvariantCulture, $"PostgreSQL stopped (SIGSTOP) for {settings.StallDuration.TotalSeconds:0} s, then SIGCONT");
    }
}

/// <summary>Progress lines on standard output, each flushed at once so that a caller sees them live.</summary>
public static class Output
{
    public static void Line(FormattableString line) => Console.Out.WriteLine(FormattableString.Invariant(line));
}
