namespace CommsCredits.Gateway.Health;

/// <summary>What the last probe found. The gateway serves only with both servers reachable and while not stopping.</summary>
public sealed record HealthReport(bool Probed, bool RedisReachable, bool PostgresReachable, bool Stopping)
{
    /// <summary>Before the first probe: not serving.</summary>
    public static HealthReport NotProbed { get; } = new(Probed: false, RedisReachable: false, PostgresReachable: false, Stopping: false);

    public bool Serving => Probed && RedisReachable && PostgresReachable && !Stopping;

    /// <summary>Why the gateway does not serve, for /readyz and the log; empty when it serves.</summary>
    public string Reason =>
        Stopping ? "stopping"
        : !Probed ? "not probed yet"
        : (RedisReachable, PostgresReachable) switch
        {
            (false, false) => "Redis and PostgreSQL unreachable",
            (false, true) => "Redis unreachable",
            (true, false) => "PostgreSQL unreachable",
            _ => string.Empty,
        };
}
