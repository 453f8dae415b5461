namespace CommsCredits.Tests.Metrics;

using CommsCredits.Gateway.Metrics;
using Shouldly;
using Xunit;

/// <summary>Our writer of the Prometheus text format 0.0.4: headers, escaping, histograms and the label-set bound.</summary>
public sealed class ExpositionFormatTests
{
    [Fact]
    public void A_counter_is_written_with_its_help_type_and_one_line_per_label_set()
    {
        // Proves the basic shape: # HELP, # TYPE counter, name{labels} value, in the order of the label names.
        var registry = new MetricsRegistry();
        var requests = registry.Counter("test_requests_total", "Requests.", "method", "code");
        requests.WithLabels("/a.B/C", "OK").Increment();
        requests.WithLabels("/a.B/C", "OK").Add(2L);

        registry.Render().ShouldBe(
            "# HELP test_requests_total Requests.\n# TYPE test_requests_total counter\ntest_requests_total{method=\"/a.B/C\",code=\"OK\"} 3\n");
    }

    [Fact]
    public void Label_values_escape_backslash_quote_and_line_feed_and_help_escapes_backslash_and_line_feed()
    {
        // Proves the escaping rules of the format: in label values \ " and newline; in help text \ and newline only
        // (a double quote stays as it is there).
        var registry = new MetricsRegistry();
        var family = registry.Gauge("test_gauge", "Help with \\ a backslash,\na line feed and \"quotes\".", "label");
        family.WithLabels("a\\b\"c\nd").Set(1.5);

        var lines = registry.Render().Split('\n');
        lines[0].ShouldBe("# HELP test_gauge Help with \\\\ a backslash,\\na line feed and \"quotes\".");
        lines[1].ShouldBe("# TYPE test_gauge gauge");
        lines[2].ShouldBe("test_gauge{label=\"a\\\\b\\\"c\\nd\"} 1.5");
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_with_an_Inf_bucket_equal_to_the_count_and_a_sum()
    {
        // Proves le is "less than or equal" (an observation on a bound counts in that bucket), buckets add up, +Inf
        // holds everything (the value above the last bound too) and _count equals it.
        var registry = new MetricsRegistry();
        var histogram = registry.Histogram("test_seconds", "Durations.", [0.1, 1, 10], "operation").WithLabels("op");
        foreach (var value in new[] { 0.05, 0.1, 0.5, 1, 7, 20 })
        {
            histogram.Observe(value);
        }

        registry.Render().ShouldBe(
            """
            # HELP test_seconds Durations.
            # TYPE test_seconds histogram
            test_seconds_bucket{operation="op",le="0.1"} 2
            test_seconds_bucket{operation="op",le="1"} 4
            test_seconds_bucket{operation="op",le="10"} 5
            test_seconds_bucket{operation="op",le="+Inf"} 6
            test_seconds_sum{operation="op"} 28.65
            test_seconds_count{operation="op"} 6

            """.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void A_histogram_without_labels_writes_le_alone_and_small_bounds_round_trip()
    {
        // Proves the label braces of an unlabelled histogram hold only le, and bounds such as 0.0001 and 0.00025 are
        // written so that they parse back to the same number.
        var registry = new MetricsRegistry();
        registry.Histogram("test_latency_seconds", "Latency.", MetricLimits.LatencyBucketsSeconds).WithLabels(LabelValues.None).Observe(0.0002);

        var text = registry.Render();
        text.ShouldContain("test_latency_seconds_bucket{le=\"0.0001\"} 0\n");
        text.ShouldContain("test_latency_seconds_bucket{le=\"0.00025\"} 1\n");
        text.ShouldContain("test_latency_seconds_bucket{le=\"10\"} 1\n");
        text.ShouldContain("test_latency_seconds_bucket{le=\"+Inf\"} 1\n");
        text.ShouldContain("test_latency_seconds_count 1\n");
    }

    [Fact]
    public void Label_sets_beyond_the_limit_go_to_one_overflow_set_and_are_counted()
    {
        // Proves the cardinality bound: a family with room for 3 label sets keeps 3 apart; every later set adds to
        // the one set labelled "overflow", so the exposition has 4 lines however many sets are used.
        var family = new CounterFamily("test_bounded_total", "Bounded.", ["user"], maxLabelSets: 3);
        for (var user = 0; user < 100; user++)
        {
            family.WithLabels("user" + user).Increment();
        }

        var builder = new System.Text.StringBuilder();
        family.Write(builder);
        var samples = builder.ToString().Split('\n').Where(line => line.StartsWith("test_bounded_total{", StringComparison.Ordinal)).ToList();
        samples.Count.ShouldBe(4);
        samples.ShouldContain("test_bounded_total{user=\"overflow\"} 97", StringComparer.Ordinal);
        family.OverflowedLookups.ShouldBe(97);
    }

    [Fact]
    public void Special_values_are_written_as_the_format_spells_them()
    {
        // Proves +Inf, -Inf and NaN are spelled as Prometheus parses them, and integers without a decimal point.
        PrometheusText.FormatValue(double.PositiveInfinity).ShouldBe("+Inf");
        PrometheusText.FormatValue(double.NegativeInfinity).ShouldBe("-Inf");
        PrometheusText.FormatValue(double.NaN).ShouldBe("NaN");
        PrometheusText.FormatValue(42).ShouldBe("42");
        PrometheusText.FormatValue(0.0001).ShouldBe("0.0001");
    }

    [Fact]
    public void Bad_names_wrong_label_counts_and_duplicate_families_are_refused()
    {
        // Proves programmer errors fail at once: names outside the format's rules, a label set of the wrong size,
        // a reserved le label on a histogram, and one name registered twice.
        var registry = new MetricsRegistry();
        Should.Throw<ArgumentException>(() => registry.Counter("9starts_with_digit", "x"));
        Should.Throw<ArgumentException>(() => registry.Counter("ok_total", "x", "__reserved"));
        Should.Throw<ArgumentException>(() => registry.Histogram("h_seconds", "x", [1], "le"));
        Should.Throw<ArgumentException>(() => registry.Histogram("h2_seconds", "x", [2, 1]));
        var family = registry.Counter("two_labels_total", "x", "a", "b");
        Should.Throw<ArgumentException>(() => family.WithLabels("only one"));
        Should.Throw<InvalidOperationException>(() => registry.Counter("two_labels_total", "x", "a", "b"));
    }

    [Fact]
    public async Task Concurrent_increments_and_observations_lose_nothing()
    {
        // Proves the lock-free updates: 4 threads x 100,000 increments and observations give exact totals.
        var registry = new MetricsRegistry();
        var counter = registry.Counter("test_concurrent_total", "x").WithLabels(LabelValues.None);
        var histogram = registry.Histogram("test_concurrent_seconds", "x", [0.5]).WithLabels(LabelValues.None);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var index = 0; index < 100_000; index++)
            {
                counter.Increment();
                histogram.Observe(1);
            }
        })));

        counter.Value.ShouldBe(400_000);
        histogram.Count.ShouldBe(400_000);
        histogram.Sum.ShouldBe(400_000);
    }

    [Theory]
    [InlineData("the available balance cannot pay", Contracts.V1.ResultCode.CreditLimitReached, "insufficient_credit")]
    [InlineData("user 'x' has no calling plan, so may not call the public telephone network", Contracts.V1.ResultCode.EndUserServiceDenied, "no_plan")]
    [InlineData("this call would be paid from communications credits and user 'x' holds no communications credits licence", Contracts.V1.ResultCode.EndUserServiceDenied, "not_licensed")]
    [InlineData("the included minutes of pool 'p' are used up and user 'x' holds no communications credits licence", Contracts.V1.ResultCode.EndUserServiceDenied, "not_licensed")]
    [InlineData("+18005550100 is not a toll-free number of tenant 't'", Contracts.V1.ResultCode.EndUserServiceDenied, "not_tenant_toll_free")]
    [InlineData("tenant 'x' is not known", Contracts.V1.ResultCode.UserUnknown, "unknown_user")]
    [InlineData("no rate", Contracts.V1.ResultCode.RatingFailed, "no_rate")]
    [InlineData("session s is not open", Contracts.V1.ResultCode.UnknownSessionId, "unknown_session")]
    public void Denials_get_a_reason_from_a_fixed_list(string message, Contracts.V1.ResultCode code, string reason)
    {
        // Proves each kind of denial the charging code writes maps to its reason label.
        DenialReasons.Of(code, message).ShouldBe(reason);
    }
}
