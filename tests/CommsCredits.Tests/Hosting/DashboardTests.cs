namespace CommsCredits.Tests.Hosting;

using System.Text.Json;
using System.Text.RegularExpressions;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;

/// <summary>
/// The Grafana dashboard in docker/grafana/dashboards asks only for metrics the gateway exports, under their exact names,
/// and has a panel for each of them. (docker/check.sh checks that every expression parses, with promtool.)
/// </summary>
public sealed partial class DashboardTests
{
    /// <summary>The metrics the gateway exports (issue 6): counters and gauges by name, histograms by their base name.</summary>
    private static readonly string[] Plain =
    [
        "commscredits_grpc_requests_total", "commscredits_charging_answers_total", "commscredits_grants_denied_total", "commscredits_sessions_active",
        "commscredits_held_micros", "commscredits_settlement_queue_depth", "commscredits_settlement_batches_total", "commscredits_recharge_attempts_total",
        "commscredits_notifications_total", "commscredits_supervision_closures_total", "process_cpu_seconds_total", "process_resident_memory_bytes",
        "dotnet_gc_heap_size_bytes", "dotnet_threadpool_queue_length", "commscredits_balance_watchers", "commscredits_balance_watched_tenants",
    ];

    private static readonly string[] Histograms =
    [
        "commscredits_grpc_request_duration_seconds", "commscredits_redis_operation_duration_seconds", "commscredits_postgres_operation_duration_seconds",
        "commscredits_settlement_batch_size",
    ];

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal) { "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset" };

    [Fact]
    public void Every_dashboard_expression_names_only_exported_metrics_and_every_exported_metric_has_a_panel()
    {
        // Proves the dashboard and the metrics agree: a misspelt or invented metric name fails here instead of showing an
        // empty panel in Grafana, and a metric without a panel is noticed.
        var allowed = new HashSet<string>(Plain.Concat(Histograms.SelectMany(name => new[] { name + "_bucket", name + "_sum", name + "_count" })), StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var expressions = Expressions().ToList();
        expressions.Count.ShouldBeGreaterThan(10);
        foreach (var expression in expressions)
        {
            var names = MetricNames(expression).ToList();
            names.ShouldNotBeEmpty(expression);
            foreach (var name in names)
            {
                allowed.Contains(name).ShouldBeTrue($"{name} in `{expression}` is not an exported metric");
                used.Add(name);
            }
        }

        Plain.Where(name => !used.Contains(name)).ShouldBeEmpty("metrics without a panel");
        Histograms.Where(name => !used.Contains(name + "_bucket")).ShouldBeEmpty("histograms without a quantile panel");
    }

    [Fact]
    public void The_metric_name_reader_finds_metrics_and_skips_functions_labels_and_ranges()
    {
        // Proves the reader the test above relies on: from a typical expression it takes the metric names only.
        MetricNames("histogram_quantile(0.99, sum by (method, le) (rate(commscredits_grpc_request_duration_seconds_bucket{job=\"gateway\"}[$__rate_interval])))")
            .ShouldBe(["commscredits_grpc_request_duration_seconds_bucket"]);
        MetricNames("sum(rate(a_sum[5m])) / sum without (instance) (rate(a_count[5m])) * 1e6").ShouldBe(["a_sum", "a_count"]);
    }

    private static IEnumerable<string> Expressions()
    {
        var path = Path.Combine(PythonClientTests.RepositoryRoot(), "docker", "grafana", "dashboards", "commscredits.json");
        using var dashboard = JsonDocument.Parse(File.ReadAllText(path));
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                yield return target.GetProperty("expr").GetString()!;
            }
        }
    }

    /// <summary>The metric names of a PromQL expression: what is left once strings, label matchers, ranges, grouping labels and functions are taken out.</summary>
    private static IEnumerable<string> MetricNames(string expression)
    {
        var bare = Strings().Replace(expression, string.Empty);
        bare = Braces().Replace(bare, string.Empty);
        bare = Ranges().Replace(bare, string.Empty);
        bare = Grouping().Replace(bare, string.Empty);
        foreach (Match match in Identifier().Matches(bare))
        {
            var name = match.Groups["name"].Value;
            if (!match.Groups["call"].Success && !Keywords.Contains(name))
            {
                yield return name;
            }
        }
    }

    [GeneratedRegex("\"[^\"]*\"", RegexOptions.None, matchTimeoutMilliseconds: 1_000)]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^}]*\}", RegexOptions.None, matchTimeoutMilliseconds: 1_000)]
    private static partial Regex Braces();

    [GeneratedRegex(@"\[[^\]]*\]", RegexOptions.None, matchTimeoutMilliseconds: 1_000)]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", RegexOptions.ExplicitCapture, matchTimeoutMilliseconds: 1_000)]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w.$])(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<call>\s*\()?", RegexOptions.None, matchTimeoutMilliseconds: 1_000)]
    private static partial Regex Identifier();
}
