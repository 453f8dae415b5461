namespace CommsCredits.Tests.Cluster;

using System.Collections.Concurrent;
using System.Diagnostics;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Infrastructure;
using Dapper;
using Npgsql;
using Shouldly;
using Xunit;
using Xunit.Abstractions;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>
/// Failovers under load on a Redis Cluster of three primaries with a replica each: calls run through the gateway on
/// nine tenants (spread over the primaries) while one tenant's slot migrates to another primary (ASK, TRYAGAIN and MOVED
/// answers), then a replica takes over its primary gracefully (CLUSTER FAILOVER, which
/// waits until the replica has every write), and then a primary is killed (SIGKILL) and its replica takes over without it
/// (asynchronous replication: the replica may lack the primary's last writes). Each request is retried on UNAVAILABLE,
/// as a network element would. Afterwards every acknowledged charge must be in the ledger exactly once (lost = 0,
/// doubled = 0, counted per session as tools/CommsCredits.Chaos does) and every tenant's balance in Redis must equal its
/// ledger: the incarnation check rebuilds from the ledger the tenants of the primary that took over.
/// </summary>
[Collection(ClusterFailoverTests.CollectionName)]
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    public const string CollectionName = "Cluster failover, alone";

    private const int TenantCount = 9;
    private const int WorkerCount = 12;
    private const long FundingMicros = 100_000_000;
    private static readonly TimeSpan PhaseDuration = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_slot_migration_a_graceful_and_a_forced_failover_under_load_lose_and_double_nothing_acknowledged()
    {
        await using var cluster = await RedisClusterProcess.StartAsync(primaryCount: 3, replicasPerPrimary: 1);
        // Settled entries whose removal from Redis failed during a failover are swept within seconds, not the default 10.
        await using var gateway = await StartAsync(cluster.Configuration, "--Settlement:SweepIntervalSeconds=1", "--Settlement:SweepMinimumAgeSeconds=1");
        var tenants = new List<string>();
        for (var index = 0; index < TenantCount; index++)
        {
            tenants.Add(await gateway.CreateTenantAsync(FundingMicros, Rate("44", 60_000, first: 1, next: 1)));
        }

        var load = new Load(gateway, tenants);
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, WorkerCount).Select(worker => Task.Run(() => load.RunAsync(worker, stop.Token))).ToList();
        var stopwatch = Stopwatch.StartNew();
        await Task.Delay(PhaseDuration);

        // A slot migration: tenant 2's slot, with its keys, moves to another primary under the load.
        var migrated = RedisHotStore.ClusterSlot(HotStateKeys.Account(tenants[2]));
        var source = await cluster.PrimaryOfSlotAsync(migrated);
        var target = await cluster.PrimaryOfSlotAsync(migrated < 8192 ? 16_383 : 0);
        await cluster.MigrateSlotAsync(migrated, target);
        output.WriteLine($"{stopwatch.Elapsed.TotalSeconds:0.0} s: slot {migrated} migrated {source.Port} -> {target.Port}, {load.Describe()}; reasons: {load.DescribeReasons()}");
        await Task.Delay(PhaseDuration);

        // A graceful failover: the replica of tenant 0's primary catches up, then takes over its slots.
        var graceful = await cluster.PrimaryOfSlotAsync(RedisHotStore.ClusterSlot(HotStateKeys.Account(tenants[0])));
        var promoted = (await cluster.ReplicasOfAsync(graceful))[0];
        (await cluster.CommandAsync(promoted, "cluster", "failover")).ShouldContain("OK");
        await cluster.WaitUntilSettledAsync();
        output.WriteLine($"{stopwatch.Elapsed.TotalSeconds:0.0} s: graceful failover {graceful.Port} -> {promoted.Port} done, {load.Describe()}; reasons: {load.DescribeReasons()}");
        await Task.Delay(PhaseDuration);

        // A forced one: tenant 1's primary is killed, its replica is elected without it.
        var killed = await cluster.PrimaryOfSlotAsync(RedisHotStore.ClusterSlot(HotStateKeys.Account(tenants[1])));
        await killed.KillAsync();
        await cluster.WaitUntilSettledAsync();
        output.WriteLine($"{stopwatch.Elapsed.TotalSeconds:0.0} s: primary {killed.Port} killed, its replica took over, {load.Describe()}; reasons: {load.DescribeReasons()}");
        await Task.Delay(PhaseDuration);

        await stop.CancelAsync();
        await Task.WhenAll(workers);
        output.WriteLine($"{stopwatch.Elapsed.TotalSeconds:0.0} s: load stopped, {load.Describe()}; reasons: {load.DescribeReasons()}");

        var (lost, doubled) = await load.LostAndDoubledAsync();
        output.WriteLine($"acknowledged calls {load.Acknowledged.Count}, lost {lost}, doubled {doubled}; warnings: {string.Join(" | ", gateway.Errors.Warnings.Where(warning => warning.Contains("primary", StringComparison.Ordinal)).Take(5))}");
        load.Acknowledged.Count.ShouldBeGreaterThan(50);
        (lost, doubled).ShouldBe((0, 0));
        foreach (var tenant in tenants)
        {
            await Eventually.SucceedsAsync(() => gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant }));
            await gateway.ShouldConserveMoneyAsync(tenant);
        }
    }

    /// <summary>Calls driven as a network element would: every step retried with its request number on UNAVAILABLE.</summary>
    private sealed class Load(GatewayInstance gateway, IReadOnlyList<string> tenants)
    {
        private long unavailable;

        /// <summary>Session → (tenant, the charge its acknowledged Terminate reported).</summary>
        public ConcurrentDictionary<string, (string Tenant, long Charged)> Acknowledged { get; } = new(StringComparer.Ordinal);

        /// <summary>Why requests were UNAVAILABLE (the first 60 characters of the reason) → how often.</summary>
        public ConcurrentDictionary<string, int> Reasons { get; } = new(StringComparer.Ordinal);

        public string Describe() => $"{Acknowledged.Count} calls acknowledged, {Interlocked.Read(ref unavailable)} UNAVAILABLE answers retried";

        public string DescribeReasons() => string.Join("; ", Reasons.OrderByDescending(reason => reason.Value).Take(6).Select(reason => $"{reason.Value}× {reason.Key}"));

        public async Task RunAsync(int worker, CancellationToken stop)
        {
            for (var call = 0; !stop.IsCancellationRequested; call++)
            {
                var tenant = tenants[(worker + call) % tenants.Count];
                var session = NewSessionId();
                var reserve = await RetriedAsync(() => gateway.Charging.ReserveAsync(Reserve(tenant, session, 60)));
                reserve.ResultCode.ShouldBe(ResultCode.Success);
                var update = await RetriedAsync(() => gateway.Charging.UpdateAsync(Update(tenant, session, 1, usedSeconds: 30, requestedSeconds: 60)));
                update.ResultCode.ShouldBe(ResultCode.Success);
                var end = await RetriedAsync(() => gateway.Charging.TerminateAsync(Terminate(tenant, session, 2, usedSeconds: 17)));
                end.ResultCode.ShouldBe(ResultCode.Success);
                end.SessionCharged.AmountMicros.ShouldBe(47_000);
                Acknowledged[session] = (tenant, end.SessionCharged.AmountMicros);
            }
        }

        /// <summary>Sessions whose ledger debits are below (lost) or above (doubled) what their Terminate acknowledged.</summary>
        public async Task<(int Lost, int Doubled)> LostAndDoubledAsync()
        {
            await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
            var debited = (await connection.QueryAsync<(string SessionId, long Debited)>(
                    "SELECT session_id, (-sum(amount_micros))::bigint FROM ledger_entries WHERE kind = 2 AND session_id IS NOT NULL GROUP BY session_id"))
                .ToDictionary(row => row.SessionId, row => row.Debited, StringComparer.Ordinal);
            var lost = Acknowledged.Count(call => debited.GetValueOrDefault(call.Key) < call.Value.Charged);
            var doubled = Acknowledged.Count(call => debited.GetValueOrDefault(call.Key) > call.Value.Charged);
            return (lost, doubled);
        }

        private async Task<T> RetriedAsync<T>(Func<Task<T>> request)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    return await request();
                }
                catch (RpcException exception) when (exception.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline)
                {
                    Interlocked.Increment(ref unavailable);
                    Reasons.AddOrUpdate(exception.Status.Detail[..Math.Min(60, exception.Status.Detail.Length)], 1, (_, count) => count + 1);
                    await Task.Delay(50);
                }
            }
        }
    }
}

/// <summary>
/// The failover test kills Redis primaries under load: run alone, after the parallel tests, so that its load and its
/// six redis-server processes do not push other tests' Redis past Storage:RedisTimeoutMs on a 2-core machine.
/// </summary>
[CollectionDefinition(ClusterFailoverTests.CollectionName, DisableParallelization = true)]
public sealed class ClusterFailoverCollection
{
}
