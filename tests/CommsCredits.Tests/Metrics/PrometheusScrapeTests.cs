namespace CommsCredits.Tests.Metrics;

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CommsCredits.Tests.Infrastructure.Internal;
using Shouldly;
using Xunit;

/// <summary>A real Prometheus server (Debian's /usr/bin/prometheus) scrapes a running gateway.</summary>
public sealed class PrometheusScrapeTests(MetricsGateway fixture) : IClassFixture<MetricsGateway>
{
    [Fact]
    public async Task Prometheus_scrapes_the_gateway_and_its_query_API_returns_the_request_counter()
    {
        // Proves a Prometheus server accepts our exposition end to end: it scrapes the operations listener every
        // second (the target is up), and /api/v1/query for commscredits_grpc_requests_total returns the Reserve
        // series with the count the gateway answered.
        var directory = Directory.CreateTempSubdirectory("commscredits-prometheus-").FullName;
        var port = FreePorts.Pick();
        var target = fixture.OperationsAddress;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: commscredits
                static_configs:
                  - targets: ['{target.Host}:{target.Port}']
            """));
        using var prometheus = LoggedProcess.Start(
            "/usr/bin/prometheus",
            [
                "--config.file=" + config, "--storage.tsdb.path=" + Path.Combine(directory, "data"),
                string.Create(CultureInfo.InvariantCulture, $"--web.listen-address=127.0.0.1:{port}"), "--log.level=warn",
            ],
            directory,
            Path.Combine(directory, "prometheus.log"));
        try
        {
            var series = await QueryUntilFoundAsync(port, "commscredits_grpc_requests_total{method=\"/commscredits.v1.Charging/Reserve\",code=\"OK\"}", prometheus);
            series.GetProperty("metric").GetProperty("job").GetString().ShouldBe("commscredits");
            var value = double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            value.ShouldBeGreaterThanOrEqualTo(3);
            (await QueryUntilFoundAsync(port, "up{job=\"commscredits\"}", prometheus)).GetProperty("value")[1].GetString().ShouldBe("1");
        }
        finally
        {
            prometheus.Kill();
            await prometheus.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Asks the query API until the query returns a series (Prometheus starts, then scrapes each second); 90 s at most.</summary>
    private static async Task<JsonElement> QueryUntilFoundAsync(int port, string query, LoggedProcess prometheus)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var uri = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/api/v1/query?query={Uri.EscapeDataString(query)}"));
        var waited = Stopwatch.StartNew();
        var last = "nothing";
        while (waited.Elapsed < TimeSpan.FromSeconds(90))
        {
            prometheus.HasExited.ShouldBeFalse("prometheus exited:\n" + prometheus.RecentOutput);
            try
            {
                using var response = await http.GetAsync(uri);
                last = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    using var answer = JsonDocument.Parse(last);
                    var result = answer.RootElement.GetProperty("data").GetProperty("result");
                    if (result.GetArrayLength() > 0)
                    {
                        return result[0].Clone();
                    }
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or SocketException)
            {
                last = exception.Message;
            }

            await Task.Delay(500);
        }

        throw new ShouldAssertException($"Prometheus did not return {query} within 90 s; last answer: {last}\n{prometheus.RecentOutput}");
    }
}
