namespace CommsCredits.Tests.Metrics;

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Shouldly;
using Xunit;

/// <summary>GET /metrics of a running gateway after real calls, on the operations listener and nowhere else.</summary>
public sealed class MetricsEndpointTests(MetricsGateway fixture) : IClassFixture<MetricsGateway>
{
    [Fact]
    public async Task The_scrape_shows_the_calls_denials_and_settlement_batches_the_gateway_handled()
    {
        // Proves the instrumentation is where the decisions are: the Reserve calls are counted by method and status
        // and timed, the charging answers by result code, the denial by its reason, the Redis script and the ledger
        // batch timed (a first request of a tenant may run its script twice, around the rebuild), the batch counted and sized, and a made-up path counted as method "unknown".
        var text = await fixture.ScrapeAsync();

        Sample(text, "commscredits_grpc_requests_total{method=\"/commscredits.v1.Charging/Reserve\",code=\"OK\"}").ShouldBe(4);
        Sample(text, "commscredits_grpc_requests_total{method=\"/commscredits.v1.Charging/Terminate\",code=\"OK\"}").ShouldBe(1);
        Sample(text, "commscredits_grpc_requests_total{method=\"unknown\",code=\"UNIMPLEMENTED\"}").ShouldBe(1);
        Sample(text, "commscredits_grpc_request_duration_seconds_count{method=\"/commscredits.v1.Charging/Reserve\"}").ShouldBe(4);
        Sample(text, "commscredits_grpc_request_duration_seconds_bucket{method=\"/commscredits.v1.Charging/Reserve\",le=\"+Inf\"}").ShouldBe(4);
        Sample(text, "commscredits_grpc_request_duration_seconds_sum{method=\"/commscredits.v1.Charging/Reserve\"}").ShouldBeGreaterThan(0);
        Sample(text, "commscredits_charging_answers_total{method=\"Reserve\",result_code=\"2001\"}").ShouldBe(3);
        Sample(text, "commscredits_charging_answers_total{method=\"Reserve\",result_code=\"4012\"}").ShouldBe(1);
        Sample(text, "commscredits_grants_denied_total{reason=\"insufficient_credit\"}").ShouldBe(1);
        Sample(text, "commscredits_redis_operation_duration_seconds_count{operation=\"reserve\"}").ShouldBeGreaterThanOrEqualTo(4);
        Sample(text, "commscredits_redis_operation_duration_seconds_count{operation=\"usage\"}").ShouldBeGreaterThanOrEqualTo(2);
        Sample(text, "commscredits_settlement_batches_total{outcome=\"committed\"}").ShouldBeGreaterThanOrEqualTo(1);
        Sample(text, "commscredits_settlement_batch_size_count").ShouldBeGreaterThanOrEqualTo(1);
        Sample(text, "commscredits_postgres_operation_duration_seconds_count{operation=\"settlement_batch\"}").ShouldBeGreaterThanOrEqualTo(1);
        Sample(text, "commscredits_settlement_queue_depth").ShouldBe(0);
        Sample(text, "process_resident_memory_bytes").ShouldBeGreaterThan(0);
        Sample(text, "process_open_fds").ShouldBeGreaterThan(0);
        Sample(text, "dotnet_threadpool_threads").ShouldBeGreaterThan(0);
        Sample(text, "process_start_time_seconds").ShouldBeGreaterThan(1_700_000_000);
        Sample(text, "dotnet_gc_allocated_bytes_total").ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task The_gauges_show_the_open_sessions_and_their_holds_per_currency_within_a_refresh()
    {
        // Proves the Redis-wide gauges: two sessions are left open, 60 s held at 0.06 EUR/min (60,000 micros) by a tenant
        // in EUR and 60 s at 0.03 USD/min (30,000 micros) by one in USD, and within a few one-second refreshes the gauges
        // count both sessions and the money held per currency (a sum over currencies would mean nothing).
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var text = await fixture.ScrapeAsync();
            if (TrySample(text, "commscredits_sessions_active") == 2
                && TrySample(text, "commscredits_held_micros{currency=\"EUR\"}") == 60_000 && TrySample(text, "commscredits_held_micros{currency=\"USD\"}") == 30_000)
            {
                return;
            }

            deadline.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30), "the gauges did not reach two sessions, 60,000 EUR micros and 30,000 USD micros held:\n" + text);
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task The_operations_listener_serves_no_gRPC_and_the_gRPC_port_serves_no_metrics()
    {
        // Proves the two listeners are apart: a gRPC call sent to the operations port is not found there (no gRPC
        // answer), and GET /metrics on the gRPC port (HTTP/2, as it speaks) is not answered with metrics.
        using var http1 = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var grpc = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.OperationsAddress, "/commscredits.v1.Charging/Reserve"))
        {
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        grpc.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        using (var reserve = await http1.SendAsync(grpc))
        {
            reserve.StatusCode.ShouldBe(HttpStatusCode.NotFound);
            reserve.Headers.Contains("grpc-status").ShouldBeFalse();
        }

        using var http2 = MetricsGateway.Http2Client();
        using var get = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Gateway.Address, "/metrics"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var onGrpcPort = await http2.SendAsync(get);
        onGrpcPort.StatusCode.ShouldNotBe(HttpStatusCode.OK);
        (await onGrpcPort.Content.ReadAsStringAsync()).ShouldNotContain("commscredits_grpc_requests_total");
    }

    [Fact]
    public async Task Promtool_check_metrics_accepts_the_exposition_of_the_running_gateway()
    {
        // Proves the exposition is valid for Prometheus's own linter (Debian's promtool): names, types, suffixes,
        // help text, histogram series. promtool reads the text on its standard input and prints nothing when it is
        // satisfied.
        var text = await fixture.ScrapeAsync();
        var start = new ProcessStartInfo("/usr/bin/promtool")
        {
            ArgumentList = { "check", "metrics" },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var promtool = Process.Start(start)!;
        var output = promtool.StandardOutput.ReadToEndAsync();
        var errors = promtool.StandardError.ReadToEndAsync();
        await promtool.StandardInput.WriteAsync(text);
        promtool.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await promtool.WaitForExitAsync(timeout.Token);

        var said = (await output) + (await errors);
        promtool.ExitCode.ShouldBe(0, said);
        said.Trim().ShouldBeEmpty();
    }

    /// <summary>The value of the one sample named exactly so (name and labels); fails when it is missing.</summary>
    public static double Sample(string text, string series) => TrySample(text, series) ?? throw new ShouldAssertException($"no sample {series} in:\n{text}");

    /// <summary>The value of one series, or null when the scrape does not have it (yet).</summary>
    public static double? TrySample(string text, string series)
    {
        var pattern = new Regex("^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        var match = pattern.Match(text);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }
}
