namespace CommsCredits.Tests.Chaos;

using System.Text.RegularExpressions;
using CommsCredits.Tests.Infrastructure;
using Shouldly;
using Xunit;

/// <summary>The short `make chaos` run, as CI runs it: the tool as a process of its own, judged by its exit code and last line.</summary>
[Trait("Category", "Chaos")]
[Collection(ToolRun.CollectionName)]
public sealed partial class ChaosRunTests
{
    // Enough for the stack to start, 48 s of load and the settling; a hung run is killed and fails.
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task A_short_chaos_run_injects_every_fault_and_loses_and_doubles_nothing()
    {
        // Proves issue 5's chaos acceptance in CI: two gateway processes under SBC-like load (retries, duplicates, short
        // deadlines) survive kill -9, SIGTERM, Redis restart, FLUSHALL and a restart from a stale snapshot, PostgreSQL restart
        // and stall, one at a time, and afterwards no acknowledged charge is missing from the ledger, none is counted twice,
        // money is conserved in the ledger and in Redis, no session was lost and no hold is left. The tool exits non-zero
        // on any failed invariant.
        var (exitCode, output) = await ToolRun.RunAsync("CommsCredits.Chaos", new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CHAOS_SECONDS"] = "48",
            ["CHAOS_RUN_SECONDS"] = "48",
            ["CHAOS_FAULT_INTERVAL_SECONDS"] = "5",
            ["CHAOS_CALLS_IN_PARALLEL"] = "8",
            ["CHAOS_SEED"] = "20261202",
        }, RunTimeout);

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        exitCode.ShouldBe(0, output);
        var summary = SummaryLine().Match(lines[^1]);
        summary.Success.ShouldBeTrue("last line: " + lines[^1]);
        long.Parse(summary.Groups["acked"].Value, System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(0);
        summary.Groups["lost"].Value.ShouldBe("0");
        summary.Groups["doubled"].Value.ShouldBe("0");
        foreach (var fault in new[] { "gateway-kill", "gateway-term", "redis-restart", "redis-flush", "redis-stale", "postgres-restart", "postgres-stall" })
        {
            lines.ShouldContain(line => line.Contains(": " + fault + ": ", StringComparison.Ordinal), "fault " + fault + " was not injected:\n" + output);
        }

        lines.ShouldContain(line => line.Contains("gateway-term", StringComparison.Ordinal) && line.Contains("exit 0", StringComparison.Ordinal), output);
    }

    [GeneratedRegex(@"^chaos: runs=\d+ faults=\d+ calls=\d+ acked=(?<acked>\d+) lost=(?<lost>\d+) doubled=(?<doubled>\d+)$", RegexOptions.None, matchTimeoutMilliseconds: 1000)]
    private static partial Regex SummaryLine();
}
