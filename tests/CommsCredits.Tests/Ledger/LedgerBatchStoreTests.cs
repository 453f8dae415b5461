namespace CommsCredits.Tests.Ledger;

using CommsCredits.Gateway.Ledger;
using CommsCredits.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shouldly;
using Xunit;

/// <summary>The group-commit write itself, against a real PostgreSQL.</summary>
public sealed class LedgerBatchStoreTests
{
    internal static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_batch_is_one_transaction_a_bad_call_record_takes_its_ledger_entry_with_it()
    {
        // Proves the batch (lock + inserts, one round trip, no explicit transaction) is atomic: when the call record
        // breaks a constraint, the valid ledger entry written by the same batch is not left behind.
        var (dataSource, store) = await NewLedgerAsync("tenant-a", epoch: 7);
        await using (dataSource)
        {
            var broken = Call(sessionNumber: 1) with { UsedSeconds = 100, BilledSeconds = 50 };
            var settlement = new Settlement("tenant-a", 7, 1, Now, Debit(-60_000), null, broken);

            await Should.ThrowAsync<PostgresException>(() => store.WriteBatchAsync([settlement], CancellationToken.None));

            (await CountAsync(dataSource, "ledger_entries")).ShouldBe(0);
            (await CountAsync(dataSource, "call_records")).ShouldBe(0);
        }
    }

    [Fact]
    public async Task A_settlement_written_twice_in_one_batch_or_in_two_lands_once()
    {
        // Proves the operation-number key: a retry, the sweeper and the original request may all write the same
        // settlement; the ledger holds it once and every writer is told it is committed.
        var (dataSource, store) = await NewLedgerAsync("tenant-b", epoch: 3);
        await using (dataSource)
        {
            var settlement = new Settlement("tenant-b", 3, 42, Now, Debit(-10_000), new PoolUse("gb-domestic", 30, new DateOnly(2026, 11, 1)), Call(sessionNumber: 5));

            (await store.WriteBatchAsync([settlement, settlement], CancellationToken.None)).ShouldBe([SettlementOutcome.Committed, SettlementOutcome.Committed]);
            (await store.WriteBatchAsync([settlement], CancellationToken.None)).ShouldBe([SettlementOutcome.Committed]);

            (await CountAsync(dataSource, "ledger_entries")).ShouldBe(1);
            (await CountAsync(dataSource, "call_records")).ShouldBe(1);
            (await CountAsync(dataSource, "pool_usage")).ShouldBe(1);
            (await CountAsync(dataSource, "lot_draws")).ShouldBe(1);
        }
    }

    [Fact]
    public async Task A_settlement_of_another_epoch_is_refused_and_writes_nothing()
    {
        // Proves the epoch fence at the ledger: only the tenant's current hot epoch may write.
        var (dataSource, store) = await NewLedgerAsync("tenant-c", epoch: 9);
        await using (dataSource)
        {
            var stale = new Settlement("tenant-c", 8, 1, Now, Debit(-10_000), null, null);
            var current = new Settlement("tenant-c", 9, 2, Now, Debit(-20_000), null, null);
            var unknownTenant = new Settlement("tenant-zz", 9, 3, Now, Debit(-5_000), null, null);

            var outcomes = await store.WriteBatchAsync([stale, current, unknownTenant], CancellationToken.None);

            outcomes.ShouldBe([SettlementOutcome.StaleEpoch, SettlementOutcome.Committed, SettlementOutcome.StaleEpoch]);
            await using var connection = await dataSource.OpenConnectionAsync();
            (await connection.ExecuteScalarAsync<long>("SELECT sum(amount_micros)::bigint FROM ledger_entries")).ShouldBe(-20_000);
        }
    }

    [Fact]
    public async Task Batches_holding_the_same_settlements_in_opposite_orders_do_not_deadlock()
    {
        // Proves that a batch takes its rows in key order whatever order its settlements came in: the writer's batch and
        // the sweeper's (or another gateway's) can hold copies of the same debits, Updates and Terminates, and two
        // transactions inserting the same keys, or deleting the same journal rows, in opposite orders wait on each other
        // until PostgreSQL kills one (40P01). Each round writes event debits, opens sessions, then writes their Updates
        // and then their Terminates, each kind in two concurrent batches, one in reverse order.
        var (dataSource, store) = await NewLedgerAsync("tenant-d", epoch: 4);
        await using (dataSource)
        {
            const int rounds = 6;
            const int perBatch = 150;
            for (var round = 0; round < rounds; round++)
            {
                var sessions = Enumerable.Range(round * perBatch + 1, perBatch).ToArray();
                var debits = sessions.Select(number => new Settlement("tenant-d", 4, 4 * number, Now, Debit(-500), null, null));
                await WriteTwiceAtOnceAsync(store, [.. debits]);
                var openings = sessions.Select(number => new Settlement("tenant-d", 4, 4 * number + 1, Now, null, null, null) { Step = Step(SessionStepKind.Opening, number) });
                (await store.WriteBatchAsync([.. openings], CancellationToken.None)).ShouldAllBe(outcome => outcome == SettlementOutcome.Committed);
                var updates = sessions.Select(number => new Settlement("tenant-d", 4, 4 * number + 2, Now, Debit(-1_000), null, null) { Step = Step(SessionStepKind.Update, number) });
                var terminates = sessions.Select(number => new Settlement("tenant-d", 4, 4 * number + 3, Now, Debit(-2_000), null, Call(sessionNumber: number)) { Step = Step(SessionStepKind.Closing, number) });

                await WriteTwiceAtOnceAsync(store, [.. updates]);
                await WriteTwiceAtOnceAsync(store, [.. terminates]);
            }

            (await CountAsync(dataSource, "ledger_entries")).ShouldBe(3 * rounds * perBatch);
            (await CountAsync(dataSource, "call_records")).ShouldBe(rounds * perBatch);
            (await CountAsync(dataSource, "session_steps")).ShouldBe(0);
            await using var connection = await dataSource.OpenConnectionAsync();
            (await connection.ExecuteScalarAsync<long>("SELECT sum(amount_micros)::bigint FROM ledger_entries")).ShouldBe(-3_500L * rounds * perBatch);
        }
    }

    private static async Task WriteTwiceAtOnceAsync(LedgerBatchStore store, Settlement[] settlements)
    {
        Settlement[] reversed = [.. settlements.Reverse()];
        var outcomes = await Task.WhenAll(
            Task.Run(() => store.WriteBatchAsync(settlements, CancellationToken.None)),
            Task.Run(() => store.WriteBatchAsync(reversed, CancellationToken.None)));
        outcomes.SelectMany(batch => batch).ShouldAllBe(outcome => outcome == SettlementOutcome.Committed);
    }

    private static SessionStep Step(SessionStepKind kind, long sessionNumber) => new(
        kind, 4, sessionNumber, $"session-{sessionNumber}", kind == SessionStepKind.Opening ? "0" : "1", 0, 0, 0, 0, 60_000, 60,
        Now.AddMinutes(1), "answer", kind == SessionStepKind.Opening ? "opening" : null);

    private static async Task<(NpgsqlDataSource DataSource, LedgerBatchStore Store)> NewLedgerAsync(string tenantId, long epoch)
    {
        var servers = await TestServers.SharedAsync();
        var dataSource = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("ledger"));
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).ApplyAsync(CancellationToken.None);
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "INSERT INTO tenants (tenant_id, currency, display_name, hot_epoch) VALUES (@tenantId, 'EUR', 'Test', @epoch)",
            new { tenantId, epoch });
        return (dataSource, new LedgerBatchStore(dataSource));
    }

    internal static LedgerEntry Debit(long amountMicros) =>
        new(LedgerEntryKind.Debit, amountMicros, "session-1", 1, 1, null, null, null, [new LotDraw(new EntryKey(1, 1), -amountMicros)]);

    internal static CallRecord Call(long sessionNumber) => new(
        sessionNumber, "session-1", "user-1", 1, "+14155550100", "+442079460000", Now.AddMinutes(-2), Now, 90, 120, 120_000, 0,
        "United Kingdom", "44", 60_000, 0, 60, 60, Now.AddYears(-1), 1, 30, "gb-domestic");

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource, string table)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {table}");
    }
}
