namespace CommsCredits.Tests.Charging;

/// <summary>One gateway shared by the charging tests that do not disturb it (each uses its own tenants).</summary>
public static class SharedGateway
{
    private static readonly Lazy<Task<GatewayInstance>> Instance = new(() => GatewayInstance.StartAsync());

    public static Task<GatewayInstance> GetAsync() => Instance.Value;
}
