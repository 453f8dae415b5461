namespace CommsCredits.Tests.Fuzzing;

using System.Net;
using System.Reflection;
using CommsCredits.Contracts.V1;
using CommsCredits.Tests.Charging;
using Google.Protobuf.Reflection;
using Shouldly;
using Xunit;

/// <summary>
/// One gateway (real Redis and PostgreSQL) for the fuzz tests, with a funded tenant, API keys, a raw h2c HttpClient
/// that sends whatever body and headers a test builds, and every gRPC method of every service found in the
/// contract assembly's file descriptors: a method added to a proto is fuzzed without touching these tests.
/// </summary>
public sealed class FuzzGatewayFixture : IAsyncLifetime
{
    private GatewayInstance? gateway;
    private HttpClient? raw;

    public GatewayInstance Gateway => gateway!;

    /// <summary>A funded tenant with users and rates, named in many fuzzed requests so they get past "unknown tenant".</summary>
    public string TenantId { get; private set; } = string.Empty;

    public HttpClient Raw => raw!;

    public int Port => Gateway.Address.Port;

    public IReadOnlyList<FuzzMethod> Methods { get; private set; } = [];

    public async Task InitializeAsync()
    {
        gateway = await GatewayInstance.StartAsync();
        TenantId = await Gateway.CreateTenantAsync(100_000_000, GatewayInstance.Rate("44", 10_000, 1_000), GatewayInstance.Rate("1", 20_000));
        raw = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = Gateway.Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
        Methods = DiscoverMethods(Gateway.NetworkElementKey, Gateway.AdminKey);
    }

    /// <summary>Every method of every service declared in the contract assembly, with the key its service needs.</summary>
    public static IReadOnlyList<FuzzMethod> DiscoverMethods(string networkElementKey, string adminKey)
    {
        var files = typeof(ChargingReflection).Assembly.GetTypes()
            .Select(type => type.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static))
            .Where(property => property?.PropertyType == typeof(FileDescriptor))
            .Select(property => (FileDescriptor)property!.GetValue(null)!);
        var methods = new List<FuzzMethod>();
        foreach (var service in files.SelectMany(file => file.Services))
        {
            // Charging is the network elements' service; every other one takes an admin key (GatewayApplication).
            var isCharging = string.Equals(service.Name, "Charging", StringComparison.Ordinal);
            foreach (var method in service.Methods)
            {
                // A method that streams its answers may stream until its client goes (Health/Watch does): its requests
                // carry a deadline, which ends an accepted one.
                (string, string)[] headers = method.IsServerStreaming ? [("grpc-timeout", "200m")] : [];
                methods.Add(new FuzzMethod(method, "/" + service.FullName + "/" + method.Name, isCharging ? networkElementKey : adminKey, isCharging ? adminKey : networkElementKey, headers));
            }
        }

        return methods.OrderBy(method => method.Path, StringComparer.Ordinal).ToList();
    }

    /// <summary>A valid call is still answered, with SUCCESS.</summary>
    public async Task ShouldStillServeAsync()
    {
        var answer = await Gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = TenantId });
        answer.ResultCode.ShouldBe(ResultCode.Success);
    }

    /// <summary>Fails with the error logs the gateway wrote (none are expected from anything a client sends).</summary>
    public void ShouldHaveNoErrorLogs()
    {
        var errors = Gateway.Errors.Entries.Where(entry => !IsKestrelFloodDefence(entry)).ToList();
        if (errors.Count > 0)
        {
            throw new Xunit.Sdk.XunitException($"the gateway logged errors ({FuzzSettings.Replay}):\n" + string.Join("\n", errors.Take(10)));
        }
    }

    /// <summary>
    /// Kestrel's own defence against a flooding client (RST_STREAM, SETTINGS, PING floods): when the connection's
    /// output queue fills, Kestrel aborts that connection and logs it as an error. That is the intended outcome of a
    /// flood on a slow machine, not a failure of ours.
    /// </summary>
    private static bool IsKestrelFloodDefence(string entry) =>
        entry.StartsWith("Microsoft.AspNetCore.Server.Kestrel.Http2:", StringComparison.Ordinal)
        && entry.Contains("exceeded the output operations maximum queue size", StringComparison.Ordinal);

    public async Task DisposeAsync()
    {
        raw?.Dispose();
        if (gateway is not null)
        {
            await gateway.DisposeAsync();
        }
    }
}

/// <summary>One gRPC method: its descriptor, its path, the key its service takes and a key of the other role.</summary>
public sealed record FuzzMethod(MethodDescriptor Method, string Path, string Key, string WrongRoleKey, (string Name, string Value)[] Headers)
{
    public override string ToString() => Path;
}
