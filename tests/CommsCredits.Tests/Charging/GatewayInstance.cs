namespace CommsCredits.Tests.Charging;

using System.Collections.Concurrent;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Operations;
using CommsCredits.Grpc.Client;
using CommsCredits.Tests.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Shouldly;
using StackExchange.Redis;

/// <summary>
/// A real gateway on a loopback port, with its own PostgreSQL database and Redis logical database, for the charging
/// tests. Tests talk to it over gRPC with our client and look into Redis and PostgreSQL directly to check what it did.
/// Error logs it writes are collected: a test run fails if the gateway logged an error nobody expected. Its clients
/// use an unscoped network-element key and an unscoped admin key created at start, directly in its database.
/// </summary>
public sealed class GatewayInstance : IAsyncDisposable
{
    private static int nextRedisDatabase;
    private readonly WebApplication app;
    private readonly ConnectionMultiplexer redis;

    private readonly string redisConfiguration;

    private GatewayInstance(
        WebApplication app, Uri address, string postgres, string redisConfiguration, ConnectionMultiplexer redis, int redisDatabase, ErrorLog errors, TestClock clock,
        TestKeys keys)
    {
        Clock = clock;
        this.app = app;
        this.redis = redis;
        this.redisConfiguration = redisConfiguration;
        Address = address;
        PostgresConnectionString = postgres;
        RedisDatabase = redisDatabase;
        Errors = errors;
        NetworkElementKey = keys.NetworkElement;
        AdminKey = keys.Admin;
        Channel = GrpcChannel.ForAddress(address);
        Charging = new ChargingClient(Channel, NetworkElementKey);
        Accounts = new AccountsClient(Channel, AdminKey);
        Directory = new DirectoryClient(Channel, AdminKey);
    }

    public Uri Address { get; }

    /// <summary>The operations listener (GET /metrics), on a port of its own; null when a test turned it off.</summary>
    public Uri? OperationsAddress => Services.GetRequiredService<OperationsServer>().Address;

    public string PostgresConnectionString { get; }

    public int RedisDatabase { get; }

    public ErrorLog Errors { get; }

    /// <summary>The gateway's clock: real time, plus whatever the test has moved it forward by.</summary>
    public TestClock Clock { get; }

    public GrpcChannel Channel { get; }

    /// <summary>An unscoped network-element key, used by <see cref="Charging"/>.</summary>
    public string NetworkElementKey { get; }

    /// <summary>An unscoped admin key, used by <see cref="Accounts"/>.</summary>
    public string AdminKey { get; }

    public ChargingClient Charging { get; }

    public AccountsClient Accounts { get; }

    public DirectoryClient Directory { get; }

    /// <summary>
    /// The users every tenant of <see cref="CreateTenantAsync"/> has: licensed for credits, on pay-as-you-go, so each of
    /// their calls is paid from credit as in the charging tests that do not care about plans and pools.
    /// </summary>
    public static IReadOnlyList<string> DefaultUsers { get; } = ["alice@example.com", "bob@example.com", "load@example.com", "python@example.com"];

    public IServiceProvider Services => app.Services;

    public IDatabase Redis => redis.GetDatabase(RedisDatabase);

    /// <summary>The gateway's Storage:Redis setting, for another process on the same Redis database.</summary>
    public string RedisSetting => redisConfiguration + ",defaultDatabase=" + RedisDatabase;

    /// <summary>Starts a gateway on the shared test servers (or on the Redis given), with a database of its own.</summary>
    public static async Task<GatewayInstance> StartAsync(string? redisConfiguration = null, params string[] settings)
    {
        var servers = await TestServers.SharedAsync();
        var postgres = await servers.CreateDatabaseAsync("gateway");
        var redisDatabase = redisConfiguration is null ? await ReserveRedisDatabaseAsync() : 0;
        return await StartOnAsync(postgres, redisConfiguration ?? servers.RedisConfiguration, redisDatabase, settings);
    }

    /// <summary>
    /// A database of the shared Redis that no other test uses. Gateways with different ledgers must not share one: each
    /// would treat the other's pending settlements as its own. Database 0 is left to other tests; our test servers have 64
    /// databases (a server named by COMMSCREDITS_TEST_REDIS has its own number, 16 by default).
    /// </summary>
    public static async Task<int> ReserveRedisDatabaseAsync()
    {
        var servers = await TestServers.SharedAsync();
        var redisDatabase = Interlocked.Increment(ref nextRedisDatabase);
        if (redisDatabase >= await DatabaseCountAsync(servers.RedisConfiguration))
        {
            throw new InvalidOperationException($"more tests on the shared Redis than it has databases ({redisDatabase}); give the test a Redis of its own");
        }

        return redisDatabase;
    }

    /// <summary>How many logical databases the shared Redis has, asked once.</summary>
    private static Task<int> DatabaseCountAsync(string redisConfiguration) =>
        LazyInitializer.EnsureInitialized(ref databaseCount, () => AskDatabaseCountAsync(redisConfiguration));

    private static Task<int>? databaseCount;

    private static async Task<int> AskDatabaseCountAsync(string redisConfiguration)
    {
        using var admin = await ConnectionMultiplexer.ConnectAsync(redisConfiguration + ",allowAdmin=true,syncTimeout=30000");
        var setting = await admin.GetServer(admin.GetEndPoints()[0]).ConfigGetAsync("databases");
        return setting.Length == 1 ? int.Parse(setting[0].Value, System.Globalization.CultureInfo.InvariantCulture) : 16;
    }

    /// <summary>A gateway on servers of the test's own (database 0 of the Redis), for tests that stop or stall them.</summary>
    public static Task<GatewayInstance> StartOnOwnServersAsync(string postgresConnectionString, string redisConfiguration, params string[] settings) =>
        StartOnAsync(postgresConnectionString, redisConfiguration, 0, settings);

    /// <summary>
    /// Settings for a test that stops PostgreSQL: a write gives up on it within about a second and is not retried
    /// behind the test's back (no sweep, no supervision round while the test runs).
    /// </summary>
    public static readonly string[] QuickToGiveUpOnTheLedger =
    [
        "--Settlement:CommitTimeoutMs=500", "--Settlement:MaxAttempts=2", "--Settlement:SweepIntervalSeconds=3600", "--Supervision:IntervalSeconds=3600",
        "--Storage:PostgresCommandTimeoutSeconds=2",
    ];

    /// <summary>A second gateway on the same PostgreSQL database and Redis database as <paramref name="first"/>.</summary>
    public static Task<GatewayInstance> StartAlongsideAsync(GatewayInstance first, params string[] settings) =>
        StartOnAsync(first.PostgresConnectionString, first.redisConfiguration, first.RedisDatabase, settings);

    private static async Task<GatewayInstance> StartOnAsync(string postgres, string redisConfiguration, int redisDatabase, string[] settings)
    {
        var redisSetting = redisConfiguration + ",defaultDatabase=" + redisDatabase;
        var errors = new ErrorLog();
        string[] arguments =
        [
            "--Server:Endpoint=http://127.0.0.1:0",
            "--Operations:Endpoint=http://127.0.0.1:0",
            "--Storage:Redis=" + redisSetting,
            "--Storage:Postgres=" + postgres,
            "--Logging:LogLevel:Default=Warning",
            // Most tests drain small balances; FundingTests checks the minimum with the product's value.
            "--Funding:MinimumOneOffMicros=1",
            .. settings,
        ];
        var clock = new TestClock();
        var application = GatewayApplication.Build(arguments, builder =>
        {
            builder.Logging.AddProvider(errors);
            builder.Services.AddSingleton<TimeProvider>(clock);
        });
        await GatewayApplication.MigrateAsync(application.Services, CancellationToken.None);
        await application.StartAsync();
        var keys = new TestKeys(
            await CreateKeyAsync(application.Services, ApiKeyRole.NetworkElement, tenantId: null),
            await CreateKeyAsync(application.Services, ApiKeyRole.Admin, tenantId: null));
        var address = new Uri(application.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(redisSetting + ",allowAdmin=true");
        return new GatewayInstance(application, address, postgres, redisConfiguration, multiplexer, redisDatabase, errors, clock, keys);
    }

    /// <summary>A new key in this gateway's database, for every tenant (null) or one.</summary>
    public Task<string> CreateKeyAsync(ApiKeyRole role, string? tenantId) => CreateKeyAsync(Services, role, tenantId);

    /// <summary>A new tenant with a unique id and nothing else: no users, rates or money.</summary>
    public async Task<string> CreateEmptyTenantAsync(string currency = "EUR")
    {
        var tenantId = "t-" + Guid.NewGuid().ToString("N")[..12];
        await Accounts.CreateTenantAsync(new CreateTenantRequest { TenantId = tenantId, Currency = currency, DisplayName = "Test " + tenantId });
        return tenantId;
    }

    /// <summary>
    /// A new tenant in EUR with a unique id and the <see cref="DefaultUsers"/>, funded, with the given rate rows (all
    /// effective since 2020).
    /// </summary>
    public Task<string> CreateTenantAsync(long fundingMicros, params RateRow[] rates) => CreateTenantInAsync("EUR", fundingMicros, rates);

    /// <summary>The same as <see cref="CreateTenantAsync"/>, with its account in <paramref name="currency"/>.</summary>
    public async Task<string> CreateTenantInAsync(string currency, long fundingMicros, params RateRow[] rates)
    {
        var tenantId = await CreateEmptyTenantAsync(currency);
        foreach (var user in DefaultUsers)
        {
            await Directory.PutUserAsync(new PutUserRequest
            {
                TenantId = tenantId, UserId = user, Upn = user, DisplayName = user, LocationCountry = "GB", CommunicationsCreditsLicence = true,
                CallingPlan = CallingPlan.PayAsYouGo,
            });
        }

        await DirectoryLoadedAsync(tenantId);
        if (rates.Length > 0)
        {
            var import = new ImportRatesRequest { TenantId = tenantId };
            import.Rows.AddRange(rates);
            await Accounts.ImportRatesAsync(import);
        }

        if (fundingMicros > 0)
        {
            await Accounts.AddFundsAsync(new AddFundsRequest
            {
                TenantId = tenantId,
                Amount = new Money { AmountMicros = fundingMicros, Currency = currency },
                IdempotencyKey = "initial-" + tenantId,
            });
        }

        return tenantId;
    }

    public static RateRow Rate(string prefix, long ratePerMinuteMicros, long connectionFeeMicros = 0, uint first = 60, uint next = 1, CallType callType = CallType.OutboundPstn) => new()
    {
        CallType = callType,
        Prefix = prefix,
        DestinationName = "Destination " + prefix,
        RatePerMinuteMicros = ratePerMinuteMicros,
        ConnectionFeeMicros = connectionFeeMicros,
        FirstIncrementSeconds = first,
        NextIncrementSeconds = next,
        EffectiveFrom = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)),
    };

    /// <summary>
    /// The tenant's ledger: sum of all entries, and of debits alone (as a positive number), and of fundings; the months
    /// detached from the ledger count through their checkpoint.
    /// </summary>
    public async Task<(long Sum, long Debited, long Funded)> LedgerAsync(string tenantId)
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionString);
        return await connection.QuerySingleAsync<(long, long, long)>(
            """
            SELECT l.total + coalesce(cp.balance_micros, 0), l.debited - coalesce(cp.debited_micros, 0), l.funded + coalesce(cp.funded_micros, 0)
            FROM (SELECT coalesce(sum(amount_micros), 0)::bigint AS total,
                         coalesce(-sum(amount_micros) FILTER (WHERE kind = 2), 0)::bigint AS debited,
                         coalesce(sum(amount_micros) FILTER (WHERE kind = 1), 0)::bigint AS funded
                  FROM ledger_entries WHERE tenant_id = @tenantId) AS l
            LEFT JOIN ledger_checkpoints cp ON cp.tenant_id = @tenantId
            """,
            new { tenantId });
    }

    /// <summary>The tenant's call detail records: count and the sum of their charges (with those of detached months).</summary>
    public async Task<(long Count, long Charged)> CallRecordsAsync(string tenantId)
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionString);
        return await connection.QuerySingleAsync<(long, long)>(
            """
            SELECT (SELECT count(*) FROM call_records WHERE tenant_id = @tenantId) + coalesce(cp.call_record_count, 0),
                   (SELECT coalesce(sum(charge_micros), 0) FROM call_records WHERE tenant_id = @tenantId)::bigint + coalesce(cp.call_charges_micros, 0)
            FROM (SELECT 1) AS one LEFT JOIN ledger_checkpoints cp ON cp.tenant_id = @tenantId
            """,
            new { tenantId });
    }

    /// <summary>Balance and held amount as Redis holds them (null when Redis has no state for the tenant).</summary>
    public Task<(long Balance, long Held)?> RedisAccountAsync(string tenantId) =>
        WhileReconnectingAsync<(long Balance, long Held)?>(async () =>
        {
            var values = await Redis.HashGetAsync(HotStateKeys.Account(tenantId), ["balance", "held"]);
            return values[0].IsNull ? null : ((long)values[0], (long)values[1]);
        });

    /// <summary>Runs a read of the test's own Redis connection, which after a Redis restart may still be reconnecting for a few seconds.</summary>
    private static async Task<T> WhileReconnectingAsync<T>(Func<Task<T>> read)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                return await read();
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// Waits until this gateway's in-memory directory of the tenant is the stored one: admin changes reach the charging
    /// path through a notification, milliseconds after the admin call returns.
    /// </summary>
    public async Task DirectoryLoadedAsync(string tenantId)
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionString);
        var stored = await connection.ExecuteScalarAsync<long>("SELECT directory_revision FROM tenants WHERE tenant_id = @tenantId", new { tenantId });
        var catalog = Services.GetRequiredService<CommsCredits.Gateway.Tenants.TenantCatalog>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await catalog.GetAsync(tenantId, CancellationToken.None))?.Directory.Revision < stored)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"the catalog of tenant {tenantId} did not reach directory revision {stored}");
            await Task.Delay(10);
        }
    }

    /// <summary>The tenant's funding lots with money left, as Redis holds them: lot id → (remaining micros, expiry ms).</summary>
    public async Task<SortedDictionary<string, (long Remaining, long ExpiresMs)>> RedisLotsAsync(string tenantId)
    {
        var lots = new SortedDictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (var entry in await Redis.SortedSetRangeByRankWithScoresAsync(HotStateKeys.LotExpiry(tenantId)))
        {
            var remaining = await Redis.HashGetAsync(HotStateKeys.Lots(tenantId), entry.Element);
            lots[(string)entry.Element!] = ((long)remaining, (long)entry.Score);
        }

        return lots;
    }

    /// <summary>The tenant's funding lots with money left, as the ledger's lots and draws say.</summary>
    public async Task<SortedDictionary<string, (long Remaining, long ExpiresMs)>> LedgerLotsAsync(string tenantId)
    {
        await using var connection = new NpgsqlConnection(PostgresConnectionString);
        var rows = await connection.QueryAsync<(long Epoch, long Operation, long Remaining, DateTime ExpiresAt)>(
            """
            SELECT l.epoch, l.operation_number,
                   l.amount_micros - coalesce((SELECT sum(d.amount_micros) FROM lot_draws d
                                               WHERE d.tenant_id = l.tenant_id AND d.lot_epoch = l.epoch
                                                 AND d.lot_operation_number = l.operation_number), 0)::bigint,
                   l.expires_at
            FROM funding_lots l WHERE l.tenant_id = @tenantId
            """,
            new { tenantId });
        var lots = new SortedDictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (var row in rows.Where(row => row.Remaining != 0))
        {
            lots[$"{row.Epoch}.{row.Operation}"] = (row.Remaining, new DateTimeOffset(DateTime.SpecifyKind(row.ExpiresAt, DateTimeKind.Utc)).ToUnixTimeMilliseconds());
        }

        return lots;
    }

    /// <summary>
    /// Checks invariant 1 for a tenant with nothing in flight: funded − debited − expired + refunded = balance in the
    /// ledger, the same balance in Redis, and the lots adding up to it in both, lot by lot.
    /// </summary>
    public async Task ShouldConserveMoneyAsync(string tenantId)
    {
        // An acknowledged settlement is committed; its pending copy in Redis is removed just after the answer.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await PendingCountAsync(tenantId) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        (await PendingCountAsync(tenantId)).ShouldBe(0);
        var ledger = await LedgerAsync(tenantId);
        var redisAccount = await RedisAccountAsync(tenantId) ?? throw new InvalidOperationException($"Redis holds no state for tenant {tenantId}");
        redisAccount.Balance.ShouldBe(ledger.Sum);
        var redisLots = await RedisLotsAsync(tenantId);
        redisLots.Values.Sum(lot => lot.Remaining).ShouldBe(ledger.Sum);
        (await LedgerLotsAsync(tenantId)).ShouldBe(redisLots);
    }

    /// <summary>
    /// As a lost Redis would for one tenant: its account, sessions, lots, pending settlements and everything else of it
    /// disappear; the next request rebuilds it from the ledger.
    /// </summary>
    public async Task LoseHotStateAsync(string tenantId)
    {
        // An async SCAN walk: the synchronous IServer.Keys of StackExchange.Redis 1.2.6 times out on a busy machine.
        var keys = new List<RedisKey>();
        var cursor = "0";
        do
        {
            var reply = (RedisResult[])(await Redis.ExecuteAsync("SCAN", cursor, "MATCH", "cc:{" + tenantId + "}:*", "COUNT", 1000))!;
            cursor = (string)reply[0]!;
            keys.AddRange(((RedisResult[])reply[1]!).Select(key => (RedisKey)(string)key!));
        }
        while (!string.Equals(cursor, "0", StringComparison.Ordinal));

        await Redis.KeyDeleteAsync([.. keys]);
        (await RedisAccountAsync(tenantId)).ShouldBeNull();
    }

    /// <summary>Settlements still pending in Redis for the tenant.</summary>
    public Task<long> PendingCountAsync(string tenantId) => WhileReconnectingAsync(() => Redis.HashLengthAsync(HotStateKeys.Pending(tenantId)));

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
        redis.Dispose();
    }

    private static async Task<string> CreateKeyAsync(IServiceProvider services, ApiKeyRole role, string? tenantId)
    {
        var created = await services.GetRequiredService<ApiKeyStore>().CreateAsync(role, tenantId, "test key", CancellationToken.None);
        return created.Key;
    }

    private sealed record TestKeys(string NetworkElement, string Admin);

    /// <summary>The system clock moved forward by a chosen amount, so tests can reach a lot's expiry.</summary>
    public sealed class TestClock : TimeProvider
    {
        private long offsetTicks;

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref offsetTicks));

        public void Advance(TimeSpan by) => Interlocked.Add(ref offsetTicks, by.Ticks);
    }

    /// <summary>Collects the gateway's error logs, and its warnings apart (for tests of what a warning says).</summary>
    public sealed class ErrorLog : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> errors = new();
        private readonly ConcurrentQueue<string> warnings = new();

        public IReadOnlyCollection<string> Entries => errors;

        public IReadOnlyCollection<string> Warnings => warnings;

        public ILogger CreateLogger(string categoryName) => new Collector(categoryName, errors, warnings);

        public void Dispose()
        {
        }

        private sealed class Collector(string category, ConcurrentQueue<string> errors, ConcurrentQueue<string> warnings) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (logLevel >= LogLevel.Error)
                {
                    errors.Enqueue($"{category}: {formatter(state, exception)} {exception}");
                }
                else if (logLevel == LogLevel.Warning)
                {
                    warnings.Enqueue($"{category}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
