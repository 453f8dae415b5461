namespace CommsCredits.Tests.Bench;

using System.Globalization;
using System.Text.RegularExpressions;
using CommsCredits.Tests.Infrastructure;
using Shouldly;
using Xunit;

/// <summary>A very short `make bench`: the load generator as a process, judged by its exit code and its lines. Its figures are not judged here (shared machines are noisy).</summary>
[Trait("Category", "Bench")]
[Collection(ToolRun.CollectionName)]
public sealed partial class BenchRunTests
{
    // The stack's start, the ceilings (about 15 s) and three phases of 2 + 1 s.
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task A_short_bench_run_measures_the_ceilings_and_every_phase_and_ends_with_its_summary_line()
    {
        // Proves the load generator works end to end against a real stack: every request of every phase is answered
        // 2001 (a failed request makes the tool exit 1), the ceilings are measured, each phase reports its methods'
        // percentiles, and the last line has the form the issue asks for, with non-zero throughput and latencies.
        var (exitCode, output) = await ToolRun.RunAsync("CommsCredits.Bench", new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["BENCH_SECONDS"] = "2",
            ["BENCH_WARMUP_SECONDS"] = "1",
            ["BENCH_TENANTS"] = "3",
            ["BENCH_CONCURRENCY"] = "8",
            ["BENCH_RETRY_PERCENT"] = "20",
        }, RunTimeout);

        exitCode.ShouldBe(0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var summary = SummaryLine().Match(lines[^1]);
        summary.Success.ShouldBeTrue("last line: " + lines[^1] + "\n" + output);
        foreach (var figure in new[] { "reserve_rps", "call_rps", "reserve_p99", "terminate_p99", "redis_ceiling" })
        {
            double.Parse(summary.Groups[figure].Value, CultureInfo.InvariantCulture).ShouldBeGreaterThan(0, figure + "\n" + output);
        }

        lines.ShouldContain(line => line.StartsWith("ceiling: redis-benchmark EVALSHA of a Reserve-like script", StringComparison.Ordinal), output);
        // The gateway's own reserve.lua ran in Redis alone and opened sessions: its calls/s and µs are figures, not zeros.
        var ownScript = lines.Single(line => line.StartsWith("ceiling: redis-benchmark EVALSHA of the gateway's own reserve.lua", StringComparison.Ordinal));
        OwnScriptFigures().IsMatch(ownScript).ShouldBeTrue(ownScript);
        lines.ShouldContain(line => line.StartsWith("ceiling: pgbench", StringComparison.Ordinal), output);
        foreach (var phase in new[] { "calls", "reserve", "reserve-at-rate" })
        {
            lines.ShouldContain(line => line.StartsWith("phase " + phase + " (", StringComparison.Ordinal), output);
        }

        lines.ShouldContain(line => line.StartsWith("Terminate ", StringComparison.Ordinal), output);
        lines.ShouldContain(line => line.StartsWith("retry ", StringComparison.Ordinal), output);
        lines.ShouldContain(line => line.StartsWith("redis: ", StringComparison.Ordinal), output);
        lines.ShouldContain(line => line.StartsWith("cpu per gRPC request", StringComparison.Ordinal), output);
    }

    [Fact]
    public async Task A_run_of_one_phase_runs_only_that_phase_and_prints_na_for_the_figures_of_the_others()
    {
        var (exitCode, output) = await ToolRun.RunAsync("CommsCredits.Bench", new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["BENCH_SECONDS"] = "2",
            ["BENCH_WARMUP_SECONDS"] = "0",
            ["BENCH_TENANTS"] = "2",
            ["BENCH_PHASES"] = "reserve-at-rate",
            ["BENCH_RESERVE_RATE"] = "50",
            ["BENCH_CEILINGS"] = "0",
        }, RunTimeout);

        exitCode.ShouldBe(0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.ShouldContain(line => line.StartsWith("phase reserve-at-rate (fixed rate 50/s", StringComparison.Ordinal), output);
        lines.ShouldNotContain(line => line.StartsWith("phase calls", StringComparison.Ordinal), output);
        lines.ShouldNotContain(line => line.StartsWith("ceiling:", StringComparison.Ordinal), output);
        var summary = PartialSummaryLine().Match(lines[^1]);
        summary.Success.ShouldBeTrue("last line: " + lines[^1] + "\n" + output);
        double.Parse(summary.Groups["reserve_p99"].Value, CultureInfo.InvariantCulture).ShouldBeGreaterThan(0, output);

        // The schedule's own lateness is measured and printed, and no operation starts before its time by more than the
        // shortest sleep (20 µs): the timer it replaced started a fifth of them up to a few milliseconds early.
        var lag = StartLagLine().Match(lines.Single(line => line.StartsWith("load generator: ", StringComparison.Ordinal)));
        lag.Success.ShouldBeTrue(output);
        var (p50, p99, max) = (Figure(lag, "p50"), Figure(lag, "p99"), Figure(lag, "max"));
        (p50 <= p99 && p99 <= max).ShouldBeTrue(output);
        if (lag.Groups["earliest"].Success)
        {
            Figure(lag, "earliest").ShouldBeLessThanOrEqualTo(0.020, output);
        }

        // The gateway's own time per Reserve, and the Redis script and ledger batches it waited for, from its /metrics.
        var inside = GatewayTimesLine().Match(lines.Single(line => line.StartsWith("inside the gateway, ", StringComparison.Ordinal)));
        inside.Success.ShouldBeTrue(output);
        Figure(inside, "reserve").ShouldBeGreaterThan(0, output);
        inside.Value.ShouldContain("redis reserve ");
        inside.Value.ShouldContain("postgres settlement_batch ");
    }

    private static double Figure(Match match, string group) => double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    [Fact]
    public async Task Two_gateways_serve_the_calls_together_each_call_s_requests_and_retries_going_to_both()
    {
        // Proves BENCH_GATEWAYS: two gateway processes on the same Redis and PostgreSQL serve one load, the requests of a
        // call (and each retry) going to the next connection, so to the other gateway; every answer must be 2001 and a
        // retry's answer the first one's (the tool exits 1 otherwise), whichever gateway gave it.
        var (exitCode, output) = await ToolRun.RunAsync("CommsCredits.Bench", new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["BENCH_SECONDS"] = "2",
            ["BENCH_WARMUP_SECONDS"] = "0",
            ["BENCH_TENANTS"] = "2",
            ["BENCH_CONCURRENCY"] = "8",
            ["BENCH_RETRY_PERCENT"] = "30",
            ["BENCH_GATEWAYS"] = "2",
            ["BENCH_PHASES"] = "calls",
            ["BENCH_CEILINGS"] = "0",
        }, RunTimeout);

        exitCode.ShouldBe(0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.ShouldContain(line => line.Contains("tenants, 2 gateways, 4 connections", StringComparison.Ordinal), output);
        TwoGatewayPorts().IsMatch(output).ShouldBeTrue(output);
        var each = lines.Single(line => line.StartsWith("gRPC requests each gateway: ", StringComparison.Ordinal))["gRPC requests each gateway: ".Length..].Split(", ");
        each.Length.ShouldBe(2, output);
        each.ShouldAllBe(count => long.Parse(count, CultureInfo.InvariantCulture) > 0, output);
        lines.ShouldContain(line => line.StartsWith("Terminate ", StringComparison.Ordinal), output);
        lines.ShouldContain(line => line.StartsWith("retry ", StringComparison.Ordinal), output);
    }

    [Fact]
    public async Task More_gateways_than_connections_exit_2_before_anything_starts()
    {
        var (exitCode, output) = await ToolRun.RunAsync("CommsCredits.Bench", new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["BENCH_GATEWAYS"] = "3",
            ["BENCH_CONNECTIONS"] = "2",
        }, RunTimeout);

        exitCode.ShouldBe(2, output);
        output.ShouldContain("BENCH_CONNECTIONS (2) must be at least BENCH_GATEWAYS (3)");
        output.ShouldNotContain("stack up");
    }

    [Theory]
    [InlineData("calls,replay", "unknown: replay")]
    [InlineData("reserve-at-rate", "needs BENCH_RESERVE_RATE")]
    public async Task Phases_it_cannot_run_exit_2_with_the_reason_before_anything_starts(string phases, string reason)
    {
        var (exitCode, output) = await ToolRun.RunAsync("CommsCredits.Bench", new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["BENCH_PHASES"] = phases,
        }, RunTimeout);

        exitCode.ShouldBe(2, output);
        output.ShouldContain(reason);
        output.ShouldNotContain("stack up");
    }

    [GeneratedRegex(@"^ceiling: redis-benchmark EVALSHA of the gateway's own reserve\.lua, a new session each call, 50 clients: [1-9]\d*/s, \d+\.\d µs of Redis per call$", RegexOptions.None, matchTimeoutMilliseconds: 1000)]
    private static partial Regex OwnScriptFigures();

    [GeneratedRegex(@"^load generator: each operation began (?<p50>-?\d+\.\d{3}) ms \(p50\), (?<p99>-?\d+\.\d{3}) ms \(p99\), (?<max>-?\d+\.\d{3}) ms \(max\) after its intended start, which the latencies above include; \d+ began early(?:, by at most (?<earliest>\d+\.\d{3}) ms)?$", RegexOptions.None, matchTimeoutMilliseconds: 1000)]
    private static partial Regex StartLagLine();

    [GeneratedRegex(@"^inside the gateway, mean ms from its /metrics: Reserve (?<reserve>\d+\.\d{3}); of that, .*settlements per ledger batch$", RegexOptions.None, matchTimeoutMilliseconds: 1000)]
    private static partial Regex GatewayTimesLine();

    [GeneratedRegex(@"gateway ports [1-9]\d*, [1-9]\d*, logs in", RegexOptions.None, matchTimeoutMilliseconds: 1000)]
    private static partial Regex TwoGatewayPorts();

    [GeneratedRegex(@"^bench: reserve_rps=n/a call_rps=n/a reserve_p99_ms=(?<reserve_p99>\d+\.\d\d) terminate_p99_ms=n/a redis_ceiling_rps=n/a$", RegexOptions.None, matchTimeoutMilliseconds: 1000)]
    private static partial Regex PartialSummaryLine();

    [GeneratedRegex(@"^bench: reserve_rps=(?<reserve_rps>\d+) call_rps=(?<call_rps>\d+) reserve_p99_ms=(?<reserve_p99>\d+\.\d\d) terminate_p99_ms=(?<terminate_p99>\d+\.\d\d) redis_ceiling_rps=(?<redis_ceiling>\d+)$", RegexOptions.None, matchTimeoutMilliseconds: 1000)]
    private static partial Regex SummaryLine();
}
