namespace CommsCredits.Bench;

using System.Globalization;
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

    /// <summary>HTTP/2 connections from the load generator to the gateway (BENCH_CONNECTIONS).</summary>
    public int Connections { get; init; } = 4;

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

    public long FundingMicrosPerTenant { get; init; } = 1_000_000_000_000;

    public string GatewayDll { get; init; } = DefaultGatewayDll();

    public static BenchSettings FromEnvironment() => new()
    {
        Seconds = Integer("BENCH_SECONDS", 30, 1, 86_400),
        WarmupSeconds = Integer("BENCH_WARMUP_SECONDS", 5, 0, 600),
        Tenants = Integer("BENCH_TENANTS", 50, 1, 10_000),
        Concurrency = Integer("BENCH_CONCURRENCY", 64, 1, 10_000),
        Connections = Integer("BENCH_CONNECTIONS", 4, 1, 64),
        ReserveRate = Integer("BENCH_RESERVE_RATE", 0, 0, 1_000_000),
        CallRate = Integer("BENCH_CALL_RATE", 0, 0, 1_000_000),
        RetryPercent = Integer("BENCH_RETRY_PERCENT", 2, 0, 100),
        ConferencePercent = Integer("BENCH_CONFERENCE_PERCENT", 20, 0, 100),
        MaxInFlight = Integer("BENCH_MAX_IN_FLIGHT", 4_096, 1, 1_000_000),
        DeadlineMs = Integer("BENCH_DEADLINE_MS", 5_000, 10, 600_000),
    };

    private static int Integer(string variable, int fallback, int minimum, int maximum)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < minimum || value > maximum)
        {
            throw new ChaosSetupException(string.Create(CultureInfo.InvariantCulture, $"{variable} must be a whole number from {minimum} to {maximum} (got '{text}')"));
        }

        return value;
    }

    private static string DefaultGatewayDll()
    {
        // This tool runs from tools/CommsCredits.Bench/bin/<configuration>/net10.0/: the gateway is built alongside.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent?.Name ?? "Release";
        var root = output.Parent?.Parent?.Parent?.Parent?.Parent?.FullName ?? ".";
        return Path.Combine(root, "src", "CommsCredits.Gateway", "bin", configuration, "net10.0", "CommsCredits.Gateway.dll");
    }
}
