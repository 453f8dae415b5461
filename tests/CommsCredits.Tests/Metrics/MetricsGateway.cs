namespace CommsCredits.Tests.Metrics;

using System.Net;
using System.Net.Http.Headers;
using CommsCredits.Contracts.V1;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>
/// A gateway of its own for the metrics tests, with traffic already sent when the tests start: a whole call
/// (Reserve, Update, Terminate, so a settlement batch), a Reserve denied for lack of credit, a session left open in EUR
/// and one in USD (for the gauges), and a gRPC request for a path that is not ours. The Redis-wide gauges are refreshed every second.
/// </summary>
public sealed class MetricsGateway : IAsyncLifetime
{
    private GatewayInstance? gateway;

    public GatewayInstance Gateway => gateway ?? throw new InvalidOperationException("not started");

    public Uri OperationsAddress => Gateway.OperationsAddress ?? throw new InvalidOperationException("the operations listener is off");

    public async Task InitializeAsync()
    {
        gateway = await StartAsync(null, "--Operations:GaugeRefreshSeconds=1");
        var funded = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, first: 60, next: 1));
        var session = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(funded, session, 60))).ResultCode.ShouldBe(ResultCode.Success);
        (await gateway.Charging.UpdateAsync(Update(funded, session, 1, usedSeconds: 60, requestedSeconds: 60))).ResultCode.ShouldBe(ResultCode.Success);
        (await gateway.Charging.TerminateAsync(Terminate(funded, session, 2, usedSeconds: 10))).ResultCode.ShouldBe(ResultCode.Success);
        (await gateway.Charging.ReserveAsync(Reserve(funded, NewSessionId(), 60))).ResultCode.ShouldBe(ResultCode.Success);

        // A tenant in another currency with a session left open: money held is summed per currency.
        var dollars = await gateway.CreateTenantInAsync("USD", 10_000_000, Rate("44", 30_000, first: 60, next: 1));
        (await gateway.Charging.ReserveAsync(Reserve(dollars, NewSessionId(), 60))).ResultCode.ShouldBe(ResultCode.Success);

        var broke = await gateway.CreateTenantAsync(0, Rate("44", 60_000));
        (await gateway.Charging.ReserveAsync(Reserve(broke, NewSessionId(), 60))).ResultCode.ShouldBe(ResultCode.CreditLimitReached);

        using var http = Http2Client();
        using var unknown = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.Address, "/made.up.Service/Method" + Guid.NewGuid().ToString("N")))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        unknown.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        using var answer = await http.SendAsync(unknown);
        answer.Headers.GetValues("grpc-status").ShouldBe(["12"]);
    }

    /// <summary>GET /metrics of the operations listener over HTTP/1.1; checks the status and content type.</summary>
    public async Task<string> ScrapeAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(new Uri(OperationsAddress, "/metrics"));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().ShouldBe("text/plain; version=0.0.4; charset=utf-8");
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>An HTTP/2 client with prior knowledge (h2c), as gRPC talks to the gateway.</summary>
    public static HttpClient Http2Client() => new(new SocketsHttpHandler()) { Timeout = TimeSpan.FromSeconds(30) };

    public async Task DisposeAsync()
    {
        if (gateway is not null)
        {
            gateway.Errors.Entries.ShouldBeEmpty();
            await gateway.DisposeAsync();
        }
    }
}
