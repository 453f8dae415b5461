using CommsCredits.Tests.Infrastructure.Internal;
using Shouldly;
using StackExchange.Redis;
using Xunit;

namespace CommsCredits.Tests.Infrastructure;

public sealed class RedisServerProcessTests
{
    [Fact]
    public async Task Started_server_serves_a_StackExchange_Redis_client_on_its_loopback_port()
    {
        // Proves the configuration string is what StackExchange.Redis needs, and that it reaches this server.
        await using var redis = await RedisServerProcess.StartAsync();
        redis.Configuration.ShouldBe("127.0.0.1:" + redis.Port);

        using var client = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = client.GetDatabase();
        await database.StringSetAsync("greeting", "hello");
        ((string?)await database.StringGetAsync("greeting")).ShouldBe("hello");
    }

    [Fact]
    public async Task Stop_then_start_again_keeps_the_port_and_starts_empty()
    {
        // Proves a restart is a loss of all hot state on the same address: Redis persists nothing.
        await using var redis = await RedisServerProcess.StartAsync();
        var port = redis.Port;
        using (var client = await ConnectionMultiplexer.ConnectAsync(redis.Configuration))
        {
            await client.GetDatabase().StringSetAsync("balance", "100");
        }

        await redis.StopAsync();
        (await PingAsync(redis)).ShouldBeFalse();
        await redis.StopAsync(); // stopping a stopped server is a no-op

        await redis.StartAgainAsync();
        redis.Port.ShouldBe(port);
        using var restartedClient = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        (await restartedClient.GetDatabase().StringGetAsync("balance")).IsNull.ShouldBeTrue();
    }

    [Fact]
    public async Task Kill_ends_the_process_at_once_and_the_server_can_start_again()
    {
        // Proves KillAsync is a crash (SIGKILL) that leaves no process behind, and that a killed server restarts.
        await using var redis = await RedisServerProcess.StartAsync();
        var processId = redis.ProcessId!.Value;

        await redis.KillAsync();
        UnixProcesses.IsAlive(processId).ShouldBeFalse();
        (await PingAsync(redis)).ShouldBeFalse();

        await redis.StartAgainAsync();
        (await PingAsync(redis)).ShouldBeTrue();
    }

    [Fact]
    public async Task Dispose_stops_the_server_and_deletes_its_directory()
    {
        // Proves a disposed server leaves neither a process nor files behind.
        var redis = await RedisServerProcess.StartAsync();
        var processId = redis.ProcessId!.Value;
        Directory.Exists(redis.ServerDirectory).ShouldBeTrue();

        await redis.DisposeAsync();

        UnixProcesses.IsAlive(processId).ShouldBeFalse();
        Directory.Exists(redis.ServerDirectory).ShouldBeFalse();
    }

    [Fact]
    public async Task Two_servers_get_different_ports()
    {
        // Proves servers started together do not collide on a port.
        await using var first = await RedisServerProcess.StartAsync();
        await using var second = await RedisServerProcess.StartAsync();
        first.Port.ShouldNotBe(second.Port);
    }

    private static Task<bool> PingAsync(RedisServerProcess redis) =>
        ReadinessProbes.RedisAnswersPingAsync("127.0.0.1", redis.Port, CancellationToken.None);
}
