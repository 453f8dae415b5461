namespace CommsCredits.Tests.Cluster;

using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Infrastructure;

/// <summary>
/// One gateway on a Redis Cluster of three primaries (no replicas), shared by the charging tests that run on a cluster
/// (each uses its own tenants, so they land on all three primaries). The cluster lives as long as the test process;
/// its nodes are stopped and deleted with it, like every test server.
/// </summary>
public static class ClusterGateway
{
    private static readonly Lazy<Task<(RedisClusterProcess Cluster, GatewayInstance Gateway)>> Instance = new(StartAsync);

    public static async Task<GatewayInstance> GetAsync() => (await Instance.Value).Gateway;

    public static async Task<RedisClusterProcess> ClusterAsync() => (await Instance.Value).Cluster;

    private static async Task<(RedisClusterProcess, GatewayInstance)> StartAsync()
    {
        var cluster = await RedisClusterProcess.StartAsync(primaryCount: 3, replicasPerPrimary: 0);
        return (cluster, await GatewayInstance.StartAsync(cluster.Configuration));
    }
}
