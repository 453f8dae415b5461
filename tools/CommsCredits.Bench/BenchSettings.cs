namespace CommsCredits.Bench;

using CommsCredits.Chaos;

/// <summary>What `make bench` runs, from environment variables (docs/scaling.md lists them), each bounded.</summary>
public sealed class BenchSettings
{
    /// <summary>Seconds of each measured phase (BENCH_SECONDS).</summary>
    public int Seconds { get; init; } = 30;

    /// <summary>Seconds of load before each phase's measurement starts, not counted (BENCH_WARMUP_SECONDS).</summary>
    public int WarmupSeconds { get; init; } = 5;

    /// <summary>Tenants the load is spread over (BENCH_TENANTS).</summary>
    public int Tenants { get; init; } = 50;

    /// <summary>Requests (Reserve phase) or calls (call phase) in flight at once when driving as fast as possible (BENCH_CONCURRENCY).</summary>
    public int Concurrency { get; init; } = 64;

    /// <summary>HTTP/2 connections from the load generator to the gateways (BENCH_CONNECTIONS), spread over them in turn.</summary>
    public int Connections { get; init; } = 4;

    /// <summary>Gateway processes serving the same tenants on the same Redis and PostgreSQL (BENCH_GATEWAYS).</summary>
    public int Gateways { get; init; } = 1;

    /// <summary>Fixed rate of the Reserve latency phase, requests/s; 0: half the rate the as-fast-as-possible phase reached (BENCH_RESERVE_RATE).</summary>
    public int ReserveRate { get; init; }

    /// <summary>Fixed rate of calls/s for the call phase; 0: as fast as possible with <see cref="Concurrency"/> calls at once (BENCH_CALL_RATE).</summary>
    public int CallRate { get; init; }

    /// <summary>Percent of requests sent a second time with the same session and request number, as an SBC retries (BENCH_RETRY_PERCENT).</summary>
    public int RetryPercent { get; init; } = 2;

    /// <summary>Percent of calls that are conference dial-outs; the rest are outbound PSTN calls (BENCH_CONFERENCE_PERCENT).</summary>
    public int ConferencePercent { get; init; } = 20;

    /// <summary>Requests the open-loop (fixed-rate) driver lets be outstanding before it counts a request as dropped (BENCH_MAX_IN_FLIGHT).</summary>
    public int MaxInFlight { get; init; } = 4_096;

    /// <summary>The deadline of each request (BENCH_DEADLINE_MS).</summary>
    public int DeadlineMs { get; init; } = 5_000;

    /// <summary>The phases to run, in this order (BENCH_PHASES, comma-separated: calls, reserve, reserve-at-rate).</summary>
    public IReadOnlyList<string> Phases { get; init; } = AllPhases;

    /// <summary>Whether to measure the ceilings (redis-benchmark, pgbench) first (BENCH_CEILINGS, 1 or 0).</summary>
    public bool MeasureCeilings { get; init; } = true;

    public static readonly IReadOnlyList<string> AllPhases = ["calls", "reserve", "reserve-at-rate"];

    public long FundingMicrosPerTenant { get; init; } = 1_000_000_000_000;

    public string GatewayDll { get; init; } = ToolSetup.DefaultGatewayDll();

    public static BenchSettings FromEnvironment()
    {
        var settings = ReadEnvironment();
        if (settings.Phases.Contains("reserve-at-rate", StringComparer.Ordinal) && !settings.Phases.Contains("reserve", StringComparer.Ordinal) && settings.ReserveRate == 0)
        {
            throw new ChaosSetupException("the reserve-at-rate phase without the reserve phase needs BENCH_RESERVE_RATE: its default is half of what the reserve phase reached");
        }

        if (settings.Connections < settings.Gateways)
        {
            throw new ChaosSetupException($"BENCH_CONNECTIONS ({settings.Connections}) must be at least BENCH_GATEWAYS ({settings.Gateways}): each gateway needs a connection of its own");
        }

        return settings;
    }

    private static BenchSettings ReadEnvironment() => new()
    {
        Seconds = ToolSetup.WholeNumber("BENCH_SECONDS", 30, 1, 86_400),
        WarmupSeconds = ToolSetup.WholeNumber("BENCH_WARMUP_SECONDS", 5, 0, 600),
        Tenants = ToolSetup.WholeNumber("BENCH_TENANTS", 50, 1, 10_000),
        Concurrency = ToolSetup.WholeNumber("BENCH_CONCURRENCY", 64, 1, 10_000),
        Connections = ToolSetup.WholeNumber("BENCH_CONNECTIONS", 4, 1, 64),
        Gateways = ToolSetup.WholeNumber("BENCH_GATEWAYS", 1, 1, 4),
        ReserveRate = ToolSetup.WholeNumber("BENCH_RESERVE_RATE", 0, 0, 1_000_000),
        CallRate = ToolSetup.WholeNumber("BENCH_CALL_RATE", 0, 0, 1_000_000),
        RetryPercent = ToolSetup.WholeNumber("BENCH_RETRY_PERCENT", 2, 0, 100),
        ConferencePercent = ToolSetup.WholeNumber("BENCH_CONFERENCE_PERCENT", 20, 0, 100),
        MaxInFlight = ToolSetup.WholeNumber("BENCH_MAX_IN_FLIGHT", 4_096, 1, 1_000_000),
        DeadlineMs = ToolSetup.WholeNumber("BENCH_DEADLINE_MS", 5_000, 10, 600_000),
        Phases = PhasesFromEnvironment(),
        MeasureCeilings = ToolSetup.WholeNumber("BENCH_CEILINGS", 1, 0, 1) == 1,
    };

    private static string[] PhasesFromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable("BENCH_PHASES");
        if (string.IsNullOrWhiteSpace(text))
        {
            return [.. AllPhases];
        }

        var named = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = named.Where(name => !AllPhases.Contains(name, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0 || named.Length == 0)
        {
            throw new ChaosSetupException($"BENCH_PHASES must name phases among {string.Join(", ", AllPhases)}, separated by commas; unknown: {string.Join(", ", unknown)}");
        }

        // Always in the documented order: reserve-at-rate's default rate comes from the reserve phase.
        return [.. AllPhases.Where(phase => named.Contains(phase, StringComparer.Ordinal))];
    }
}
