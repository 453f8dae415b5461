namespace CommsCredits.Chaos;

using System.Globalization;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Tests.Infrastructure;
using CommsCredits.Tests.Infrastructure.Internal;
using Npgsql;

/// <summary>
/// The system under test, all on loopback: a redis-server without persistence, a PostgreSQL in a temporary directory,
/// and two gateway processes sharing them, with tenants, users, rates and money created through the admin API.
/// </summary>
public sealed class ChaosStack : IAsyncDisposable
{
    public const int GatewayCount = 2;
    private const string DatabaseName = "commscredits";

    private readonly List<GatewayProcess> gateways = [];

    private ChaosStack(RedisServerProcess redis, PostgresServerProcess postgres, string directory)
    {
        Redis = redis;
        Postgres = postgres;
        Directory = directory;
    }

    public RedisServerProcess Redis { get; }

    public PostgresServerProcess Postgres { get; }

    public string Directory { get; }

    public IReadOnlyList<GatewayProcess> Gateways => gateways;

    public IReadOnlyList<string> TenantIds { get; private set; } = [];

    /// <summary>Micros each tenant was funded with by the admin API (acknowledged fundings only).</summary>
    public long FundedMicrosPerTenant { get; private set; }

    public string LedgerConnectionString => new NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { Database = DatabaseName, Timeout = 5, CommandTimeout = 30 }.ConnectionString;

    public static async Task<ChaosStack> StartAsync(ChaosSettings settings, CancellationToken cancellationToken)
    {
        var redis = await RedisServerProcess.StartAsync(cancellationToken);
        var postgres = await PostgresServerProcess.StartAsync(cancellationToken);
        var directory = Path.Combine(Path.GetTempPath(), "commscredits-chaos-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        System.IO.Directory.CreateDirectory(directory);
        var stack = new ChaosStack(redis, postgres, directory);
        try
        {
            await stack.SetUpAsync(settings, cancellationToken);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>The settings every gateway process runs with.</summary>
    public string[] GatewaySettings(ChaosSettings settings, int port) =>
    [
        string.Create(CultureInfo.InvariantCulture, $"--Server:Endpoint=http://127.0.0.1:{port}"),
        // Several gateways run on one machine: each takes a free port for its operations listener (/metrics).
        "--Operations:Endpoint=http://127.0.0.1:0",
        string.Create(CultureInfo.InvariantCulture, $"--Server:ShutdownTimeoutSeconds={settings.ShutdownTimeoutSeconds}"),
        "--Storage:Redis=" + Redis.Configuration,
        "--Storage:Postgres=" + LedgerConnectionString,
        // The pending sweeper settles what a killed gateway left behind within seconds, so a run can be checked soon after.
        "--Settlement:SweepIntervalSeconds=1",
        "--Settlement:SweepMinimumAgeSeconds=2",
        // Short validity, so that session supervision closes abandoned sessions while the run settles.
        string.Create(CultureInfo.InvariantCulture, $"--Charging:ValiditySeconds={settings.ValiditySeconds}"),
        "--Recharge:WorkerEnabled=false",
        "--Logging:LogLevel:Default=Warning",
        "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
    ];

    public async ValueTask DisposeAsync()
    {
        foreach (var gateway in gateways)
        {
            await gateway.DisposeAsync();
        }

        await Postgres.DisposeAsync();
        await Redis.DisposeAsync();
    }

    private async Task SetUpAsync(ChaosSettings settings, CancellationToken cancellationToken)
    {
        await using (var connection = new NpgsqlConnection(Postgres.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand("CREATE DATABASE " + DatabaseName, connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var common = GatewaySettings(settings, 0);
        await GatewayCommand.RunAsync(settings.GatewayDll, Directory, ["migrate", .. common], cancellationToken);
        var keys = await Task.WhenAll(
            GatewayCommand.RunAsync(settings.GatewayDll, Directory, ["create-key", "--role", "network-element", "--description", "chaos", .. common], cancellationToken),
            GatewayCommand.RunAsync(settings.GatewayDll, Directory, ["create-key", "--role", "admin", "--description", "chaos", .. common], cancellationToken));
        var networkElementKey = keys[0].Trim();
        var adminKey = keys[1].Trim();
        for (var index = 0; index < GatewayCount; index++)
        {
            var port = FreePorts.Pick();
            gateways.Add(new GatewayProcess("gateway" + (index + 1).ToString(CultureInfo.InvariantCulture), settings.GatewayDll, port, GatewaySettings(settings, port), Directory, networkElementKey));
        }

        await Task.WhenAll(gateways.Select(gateway => gateway.StartAsync(cancellationToken)));

        await CreateTenantsAsync(settings, adminKey, cancellationToken);
    }

    private async Task CreateTenantsAsync(ChaosSettings settings, string adminKey, CancellationToken cancellationToken)
    {
        var tenants = await ToolSetup.CreateTenantsAsync(gateways[0].Channel, adminKey, "chaos", settings.TenantCount, CallDriver.Users, [CallType.OutboundPstn], settings.FundingMicros, cancellationToken);
        TenantIds = tenants;
        FundedMicrosPerTenant = settings.FundingMicros;

        // Directory and rate changes reach the other gateway by notification, milliseconds later: give them a moment.
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
    }
}
