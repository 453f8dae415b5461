namespace CommsCredits.Tests.Health;

using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Infrastructure;
using global::Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Shouldly;
using Xunit;
using ServingStatus = global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

/// <summary>grpc.health.v1.Health on a real gateway: Check and Watch, open to callers without a key, following Redis.</summary>
public sealed class HealthServiceTests
{
    private const string CheckMethod = "/grpc.health.v1.Health/Check";
    private const string WatchMethod = "/grpc.health.v1.Health/Watch";

    [Fact]
    public async Task Check_answers_for_the_server_and_each_service_and_NOT_FOUND_for_a_name_it_does_not_serve()
    {
        // Proves the protocol's names: "" is the whole server, a served service's full name has a status, anything
        // else is NOT_FOUND; and a probe without an API key is let through.
        var gateway = await SharedGateway.GetAsync();

        (await CheckSoonAsync(gateway.Channel, ServingStatus.Serving)).ShouldBe(ServingStatus.Serving);
        (await CheckAsync(gateway.Channel, "commscredits.v1.Charging")).ShouldBe(ServingStatus.Serving);
        (await CheckAsync(gateway.Channel, "grpc.reflection.v1.ServerReflection")).ShouldBe(ServingStatus.Serving);
        var unknown = await Should.ThrowAsync<RpcException>(() => CheckAsync(gateway.Channel, "commscredits.v1.NoSuchService"));
        unknown.StatusCode.ShouldBe(StatusCode.NotFound);
        unknown.Status.Detail.ShouldContain("commscredits.v1.NoSuchService");
    }

    [Fact]
    public async Task Watch_sends_the_status_then_each_change_as_Redis_goes_and_comes_back()
    {
        // Proves Watch follows reachability: SERVING, NOT_SERVING once Redis is stopped (Check and /readyz say so too,
        // /healthz stays alive), SERVING again once it is back, each sent once; an unknown name gets SERVICE_UNKNOWN
        // and the stream stays open.
        await using var redis = await RedisServerProcess.StartAsync();
        await using var gateway = await GatewayInstance.StartAsync(redis.Configuration, "--Health:ProbeIntervalMs=200", "--Health:ProbeTimeoutMs=500");
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var watch = gateway.Channel.ServerStreaming<HealthCheckRequest, HealthCheckResponse>(WatchMethod, new HealthCheckRequest(), new CallOptions(CancellationToken: watching.Token));
        await using var statuses = watch.GetAsyncEnumerator(watching.Token);

        using var http = new HttpClient { BaseAddress = gateway.OperationsAddress, Timeout = TimeSpan.FromSeconds(30) };
        // A gateway whose first probe has not answered yet (a loaded CI machine, Health:ProbeTimeoutMs 500) starts out
        // NOT_SERVING; what is asserted is that SERVING comes, then each change once.
        var first = await NextAsync(statuses);
        if (first == ServingStatus.NotServing)
        {
            first = await NextAsync(statuses);
        }

        first.ShouldBe(ServingStatus.Serving);
        (await GetAsync(http, "/readyz")).ShouldBe((200, "ready\n"));
        await redis.StopAsync();
        (await NextAsync(statuses)).ShouldBe(ServingStatus.NotServing);
        (await CheckAsync(gateway.Channel, string.Empty)).ShouldBe(ServingStatus.NotServing);
        (await GetAsync(http, "/readyz")).ShouldBe((503, "Redis unreachable\n"));
        (await GetAsync(http, "/healthz")).ShouldBe((200, "alive\n"));
        await redis.StartAgainAsync();
        (await NextAsync(statuses)).ShouldBe(ServingStatus.Serving);
        (await GetAsync(http, "/readyz")).ShouldBe((200, "ready\n"));

        using var unknownWatch = gateway.Channel.ServerStreaming<HealthCheckRequest, HealthCheckResponse>(
            WatchMethod, new HealthCheckRequest { Service = "no.such.Service" }, new CallOptions(CancellationToken: watching.Token));
        await using var unknown = unknownWatch.GetAsyncEnumerator(watching.Token);
        (await NextAsync(unknown)).ShouldBe(ServingStatus.ServiceUnknown);
        var more = unknown.MoveNextAsync().AsTask();
        (await Task.WhenAny(more, Task.Delay(500))).ShouldNotBe(more);
        await watching.CancelAsync();
        await Should.ThrowAsync<Exception>(more);
    }

    [Fact]
    public async Task A_stopping_gateway_says_NOT_SERVING_and_ends_its_Watch_streams()
    {
        // Proves the drain: once the host starts stopping (SIGTERM), watchers hear NOT_SERVING at once, so load
        // balancers send new calls elsewhere, and their streams end instead of holding up the shutdown.
        await using var gateway = await GatewayInstance.StartAsync(null);
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var watch = gateway.Channel.ServerStreaming<HealthCheckRequest, HealthCheckResponse>(WatchMethod, new HealthCheckRequest(), new CallOptions(CancellationToken: watching.Token));
        await using var statuses = watch.GetAsyncEnumerator(watching.Token);
        using var unknownWatch = gateway.Channel.ServerStreaming<HealthCheckRequest, HealthCheckResponse>(
            WatchMethod, new HealthCheckRequest { Service = "no.such.Service" }, new CallOptions(CancellationToken: watching.Token));
        await using var unknown = unknownWatch.GetAsyncEnumerator(watching.Token);
        (await NextAsync(statuses)).ShouldBe(ServingStatus.Serving);
        (await NextAsync(unknown)).ShouldBe(ServingStatus.ServiceUnknown);

        gateway.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        (await NextAsync(statuses)).ShouldBe(ServingStatus.NotServing);
        (await statuses.MoveNextAsync()).ShouldBeFalse();
        watch.Status.Code.ShouldBe(StatusCode.OK);
        (await unknown.MoveNextAsync()).ShouldBeFalse();
    }

    [Fact]
    public async Task Watchers_beyond_the_limit_are_refused_with_RESOURCE_EXHAUSTED()
    {
        // Proves Health:MaxWatchers bounds the open Watch streams, and a stream that ends frees its place.
        await using var gateway = await GatewayInstance.StartAsync(null, "--Health:MaxWatchers=1");
        using var first = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var watch = gateway.Channel.ServerStreaming<HealthCheckRequest, HealthCheckResponse>(WatchMethod, new HealthCheckRequest(), new CallOptions(CancellationToken: first.Token));
        var statuses = watch.GetAsyncEnumerator(first.Token);
        (await statuses.MoveNextAsync()).ShouldBeTrue();

        using var second = gateway.Channel.ServerStreaming<HealthCheckRequest, HealthCheckResponse>(WatchMethod, new HealthCheckRequest());
        var refused = await Should.ThrowAsync<RpcException>(async () => await second.GetAsyncEnumerator().MoveNextAsync());
        refused.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        refused.Status.Detail.ShouldContain("Health:MaxWatchers");

        await first.CancelAsync();
        await Should.ThrowAsync<Exception>(async () => await statuses.MoveNextAsync());
        await statuses.DisposeAsync();
        watch.Dispose();
        // The server sees the cancelled stream end a moment later; until then the one place is still taken.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            using var third = gateway.Channel.ServerStreaming<HealthCheckRequest, HealthCheckResponse>(
                WatchMethod, new HealthCheckRequest(), new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(5)));
            try
            {
                await using var next = third.GetAsyncEnumerator();
                (await next.MoveNextAsync()).ShouldBeTrue();
                break;
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.ResourceExhausted && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task<(int Status, string Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<ServingStatus> CheckAsync(GrpcChannel channel, string service) =>
        (await channel.UnaryAsync<HealthCheckRequest, HealthCheckResponse>(CheckMethod, new HealthCheckRequest { Service = service })).Status;

    /// <summary>The server's status once it is the one expected, or the last seen after 15 s (the first probe may be pending).</summary>
    private static async Task<ServingStatus> CheckSoonAsync(GrpcChannel channel, ServingStatus expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var status = await CheckAsync(channel, string.Empty);
            if (status == expected || DateTime.UtcNow > deadline)
            {
                return status;
            }

            await Task.Delay(100);
        }
    }

    private static async Task<ServingStatus> NextAsync(IAsyncEnumerator<HealthCheckResponse> statuses)
    {
        (await statuses.MoveNextAsync()).ShouldBeTrue();
        return statuses.Current.Status;
    }
}
