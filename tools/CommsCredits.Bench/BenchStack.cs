namespace CommsCredits.Bench;

using System.Globalization;
using CommsCredits.Chaos;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;
using CommsCredits.Tests.Infrastructure;
using CommsCredits.Tests.Infrastructure.Internal;
using Npgsql;

/// <summary>
/// What the benchmark loads, all on loopback: a redis-server without persistence, a PostgreSQL with the durable
/// defaults (fsync on) in a temporary directory, one Release gateway process (or BENCH_GATEWAYS of them, serving the
/// same tenants), and the tenants with their users, rates and money created through the admin API. The gateway figures
/// (memory, allocations, requests, CPU) are the sums over every gateway.
/// </summary>
public sealed class BenchStack : IAsyncDisposable
{
    private const string DatabaseName = "commscredits";

    private readonly List<GatewayChannel> channels = [];

    private BenchStack(RedisServerProcess redis, PostgresServerProcess postgres, string directory, IReadOnlyList<GatewayProcess> gateways, IReadOnlyList<int> operationsPorts)
    {
        Redis = redis;
        Postgres = postgres;
        Directory = directory;
        Gateways = gateways;
        OperationsPorts = operationsPorts;
    }

    public RedisServerProcess Redis { get; }

    public PostgresServerProcess Postgres { get; }

    public string Directory { get; }

    public IReadOnlyList<GatewayProcess> Gateways { get; }

    /// <summary>Each gateway's operations port (/metrics), in the order of <see cref="Gateways"/>.</summary>
    public IReadOnlyList<int> OperationsPorts { get; }

    public IReadOnlyList<string> TenantIds { get; private set; } = [];

    /// <summary>One Charging client per load-generator connection.</summary>
    public IReadOnlyList<ChargingClient> Clients => channels.Select(channel => channel.Client).ToList();

    public string LedgerConnectionString => new NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { Database = DatabaseName, Timeout = 5, CommandTimeout = 60 }.ConnectionString;

    public static async Task<BenchStack> StartAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        var redis = await RedisServerProcess.StartAsync(cancellationToken);
        var postgres = await PostgresServerProcess.StartAsync(cancellationToken);
        var directory = Path.Combine(Path.GetTempPath(), "commscredits-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        System.IO.Directory.CreateDirectory(directory);
        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand("CREATE DATABASE " + DatabaseName, connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var ledger = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = DatabaseName }.ConnectionString;
        var ports = Enumerable.Range(0, settings.Gateways).Select(_ => (Grpc: FreePorts.Pick(), Operations: FreePorts.Pick())).ToList();
        var gatewaySettings = ports.Select(port => GatewaySettings(port.Grpc, port.Operations, redis.Configuration, ledger)).ToList();
        await GatewayCommand.RunAsync(settings.GatewayDll, directory, ["migrate", .. gatewaySettings[0]], cancellationToken);
        var networkElementKey = (await GatewayCommand.RunAsync(settings.GatewayDll, directory, ["create-key", "--role", "network-element", "--description", "bench", .. gatewaySettings[0]], cancellationToken)).Trim();
        var adminKey = (await GatewayCommand.RunAsync(settings.GatewayDll, directory, ["create-key", "--role", "admin", "--description", "bench", .. gatewaySettings[0]], cancellationToken)).Trim();
        var gateways = ports.Select((port, index) => new GatewayProcess(
            index == 0 ? "gateway" : string.Create(CultureInfo.InvariantCulture, $"gateway-{index + 1}"), settings.GatewayDll, port.Grpc, gatewaySettings[index], directory, networkElementKey)).ToList();
        var stack = new BenchStack(redis, postgres, directory, gateways, [.. ports.Select(port => port.Operations)]);
        try
        {
            foreach (var gateway in gateways)
            {
                await gateway.StartAsync(cancellationToken);
            }

            await stack.CreateTenantsAsync(settings, adminKey, cancellationToken);
            for (var index = 0; index < settings.Connections; index++)
            {
                // Connection i goes to gateway i modulo their number: every gateway gets connections, and the requests.
                var port = ports[index % ports.Count].Grpc;
                var channel = GrpcChannel.ForAddress(new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")));
                stack.channels.Add(new GatewayChannel(channel, new ChargingClient(channel, networkElementKey)));
            }

            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>The gateways' resident memory now, in bytes (VmRSS), or their peak (VmHWM), summed.</summary>
    public long GatewayMemoryBytes(string field)
    {
        var bytes = 0L;
        foreach (var pid in GatewayProcessIds())
        {
            var line = File.ReadLines(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/status")).First(text => text.StartsWith(field + ":", StringComparison.Ordinal));
            bytes += long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }

        return bytes;
    }

    /// <summary>One sample of the gateways' /metrics (the sum of their values; 0 where absent).</summary>
    public async Task<double> GatewayMetricAsync(string series, CancellationToken cancellationToken)
    {
        var sum = 0.0;
        foreach (var port in OperationsPorts)
        {
            foreach (var line in (await ScrapeAsync(port, cancellationToken)).Split('\n'))
            {
                if (line.StartsWith(series + " ", StringComparison.Ordinal))
                {
                    sum += double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
                    break;
                }
            }
        }

        return sum;
    }

    /// <summary>Redis's INFO commandstats: calls and microseconds spent, by command (evalsha, hget, ...).</summary>
    public Task<IReadOnlyDictionary<string, (long Calls, long Microseconds)>> RedisCommandStatsAsync(CancellationToken cancellationToken) =>
        Ceilings.CommandStatsAsync(Redis.Port.ToString(CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>CPU seconds Redis has used (INFO cpu: used_cpu_sys plus used_cpu_user).</summary>
    public async Task<double> RedisCpuSecondsAsync(CancellationToken cancellationToken)
    {
        var info = await Ceilings.RunAsync("redis-cli", ["-p", Redis.Port.ToString(CultureInfo.InvariantCulture), "INFO", "cpu"], cancellationToken);
        return info.Split('\n', StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith("used_cpu_sys:", StringComparison.Ordinal) || line.StartsWith("used_cpu_user:", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>CPU seconds the gateway processes have used (user and system, from /proc/&lt;pid&gt;/stat), summed.</summary>
    public double GatewayCpuSeconds() =>
        GatewayProcessIds().Sum(pid => UnixProcesses.ReadCpuTicks(pid, withReapedChildren: false) ?? throw new ChaosSetupException("a gateway is not running")) / 100.0;

    /// <summary>
    /// CPU seconds PostgreSQL has used: the postmaster with the backends it has reaped, and the backends alive now (the
    /// gateway's pooled connections, the WAL writer, the checkpointer, autovacuum).
    /// </summary>
    public double PostgresCpuSeconds()
    {
        var postmaster = Postgres.PostmasterProcessId;
        var ticks = UnixProcesses.ReadCpuTicks(postmaster, withReapedChildren: true) ?? throw new ChaosSetupException("PostgreSQL is not running");
        foreach (var child in UnixProcesses.FindChildren(postmaster))
        {
            ticks += UnixProcesses.ReadCpuTicks(child, withReapedChildren: false) ?? 0;
        }

        return ticks / 100.0;
    }

    /// <summary>
    /// Each histogram's sum and count by its one label, added up over the gateways, from one scrape of each: from two
    /// samples, the mean of what was observed between them (the gateway's own time for a method, a Redis script or a
    /// PostgreSQL batch). A histogram without a label is under "". The result is in the order of <paramref name="names"/>.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, (double Sum, double Count)>[]> GatewayHistogramsAsync(IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var totals = names.Select(_ => new Dictionary<string, (double Sum, double Count)>(StringComparer.Ordinal)).ToArray();
        foreach (var port in OperationsPorts)
        {
            foreach (var line in (await ScrapeAsync(port, cancellationToken)).Split('\n'))
            {
                for (var index = 0; index < names.Count; index++)
                {
                    // name_sum{label="value"} 1.5, or name_sum 1.5 for a histogram without a label (its label is "").
                    var isSum = IsSeries(line, names[index] + "_sum");
                    if (!isSum && !IsSeries(line, names[index] + "_count"))
                    {
                        continue;
                    }

                    var labelStart = line.IndexOf('"', StringComparison.Ordinal) + 1;
                    var label = labelStart > 0 ? line[labelStart..line.IndexOf('"', labelStart)] : string.Empty;
                    var value = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                    var (sum, count) = totals[index].GetValueOrDefault(label);
                    totals[index][label] = isSum ? (sum + value, count) : (sum, count + value);
                }
            }
        }

        return totals;

        // The series itself, with labels or without, not another metric whose name it begins.
        static bool IsSeries(string line, string series) =>
            line.StartsWith(series, StringComparison.Ordinal) && line.Length > series.Length && line[series.Length] is '{' or ' ';
    }

    /// <summary>The sum of every labelled sample of a metric on each gateway's /metrics, in the order of <see cref="Gateways"/>.</summary>
    public async Task<IReadOnlyList<double>> GatewayMetricSumsAsync(string name, CancellationToken cancellationToken)
    {
        var sums = new List<double>();
        foreach (var port in OperationsPorts)
        {
            var sum = 0.0;
            foreach (var line in (await ScrapeAsync(port, cancellationToken)).Split('\n'))
            {
                if (line.StartsWith(name + "{", StringComparison.Ordinal))
                {
                    sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                }
            }

            sums.Add(sum);
        }

        return sums;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in channels)
        {
            channel.Channel.Dispose();
        }

        foreach (var gateway in Gateways)
        {
            await gateway.DisposeAsync();
        }

        await Postgres.DisposeAsync();
        await Redis.DisposeAsync();
    }

    private async Task CreateTenantsAsync(BenchSettings settings, string adminKey, CancellationToken cancellationToken)
    {
        var tenants = await ToolSetup.CreateTenantsAsync(
            Gateways[0].Channel, adminKey, "bench", settings.Tenants, Workloads.Users, [CallType.OutboundPstn, CallType.ConferenceDialOut], settings.FundingMicrosPerTenant, cancellationToken);
        TenantIds = tenants;
    }

    private static string[] GatewaySettings(int port, int operationsPort, string redis, string ledger) =>
    [
        string.Create(CultureInfo.InvariantCulture, $"--Server:Endpoint=http://127.0.0.1:{port}"),
        string.Create(CultureInfo.InvariantCulture, $"--Operations:Endpoint=http://127.0.0.1:{operationsPort}"),
        "--Storage:Redis=" + redis,
        "--Storage:Postgres=" + ledger,
        // Sessions left open by the Reserve phases are not closed by the supervisor during the run.
        "--Charging:ValiditySeconds=3600",
        "--Recharge:WorkerEnabled=false",
        "--Logging:LogLevel:Default=Warning",
    ];

    private IEnumerable<int> GatewayProcessIds() =>
        Gateways.Select(gateway => gateway.ProcessId ?? throw new ChaosSetupException($"{gateway.Name} is not running"));

    private static async Task<string> ScrapeAsync(int operationsPort, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync(new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{operationsPort}/metrics")), cancellationToken);
    }

    private sealed record GatewayChannel(GrpcChannel Channel, ChargingClient Client);
}
