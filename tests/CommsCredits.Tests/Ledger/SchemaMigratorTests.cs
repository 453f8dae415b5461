namespace CommsCredits.Tests.Ledger;

using CommsCredits.Gateway.Ledger;
using CommsCredits.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shouldly;
using Xunit;

/// <summary>Versioned migrations: applied once, concurrently safe, and history may not be rewritten.</summary>
public sealed class SchemaMigratorTests
{
    [Fact]
    public async Task Migrations_apply_once_even_when_several_gateways_start_together()
    {
        // Proves idempotence and the advisory lock: four migrators race on an empty database; the schema is built
        // once, and a later run applies nothing.
        var servers = await TestServers.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("migrations"));
        var migrator = new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance);

        var applied = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => migrator.ApplyAsync(CancellationToken.None)));

        applied.Sum().ShouldBe(SchemaMigrator.EmbeddedMigrations.Count);
        (await migrator.ApplyAsync(CancellationToken.None)).ShouldBe(0);
        await using var connection = await dataSource.OpenConnectionAsync();
        (await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM schema_migrations")).ShouldBe(SchemaMigrator.EmbeddedMigrations.Count);
    }

    [Fact]
    public async Task A_changed_migration_that_was_already_applied_stops_the_start()
    {
        // Proves the checksum guard: if the recorded checksum differs from the embedded file, ApplyAsync refuses.
        var servers = await TestServers.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("migrations"));
        var migrator = new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance);
        await migrator.ApplyAsync(CancellationToken.None);
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
        }

        var error = await Should.ThrowAsync<InvalidOperationException>(() => migrator.ApplyAsync(CancellationToken.None));
        error.Message.ShouldContain("migration 1");
    }

    [Fact]
    public async Task A_ledger_written_before_funding_lots_gets_lots_and_draws_that_add_up_to_its_balance()
    {
        // Proves the backfill of 0002: a ledger from the charging core alone (two fundings, a refund, debits) gains
        // one lot per funding and refund, expiring 12 months after it, and draws replayed earliest-expiry first, so
        // the lots' remaining amounts add up to the ledger balance and the first funding is drawn on first.
        var servers = await TestServers.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("migrations"));
        var first = SchemaMigrator.EmbeddedMigrations[0];
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
            await connection.ExecuteAsync(first.Sql);
            await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name, checksum) VALUES (1, @Name, @Checksum)", first);
            await connection.ExecuteAsync(
                """
                INSERT INTO tenants (tenant_id, currency, display_name, hot_epoch) VALUES ('legacy', 'EUR', 'Legacy', 3);
                INSERT INTO ledger_entries (tenant_id, epoch, operation_number, kind, amount_micros, occurred_at) VALUES
                    ('legacy', 2, 1, 1, 100, '2026-01-01Z'),
                    ('legacy', 2, 2, 2, -30, '2026-01-02Z'),
                    ('legacy', 3, 1, 1, 50, '2026-02-01Z'),
                    ('legacy', 3, 2, 2, -90, '2026-02-02Z'),
                    ('legacy', 3, 3, 3, 7, '2026-02-03Z');
                """);
        }

        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).ApplyAsync(CancellationToken.None);

        await using var check = await dataSource.OpenConnectionAsync();
        var lots = (await check.QueryAsync<(long Epoch, long Operation, long Remaining, DateTime ExpiresAt)>(
            """
            SELECT epoch, operation_number,
                   amount_micros - coalesce((SELECT sum(d.amount_micros) FROM lot_draws d
                                             WHERE d.lot_epoch = l.epoch AND d.lot_operation_number = l.operation_number), 0)::bigint,
                   expires_at
            FROM funding_lots l ORDER BY epoch, operation_number
            """)).ToList();
        lots.Select(lot => (lot.Epoch, lot.Operation, lot.Remaining)).ShouldBe([(2L, 1L, 0L), (3L, 1L, 30L), (3L, 3L, 7L)]);
        lots[0].ExpiresAt.ShouldBe(new DateTime(2027, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        (await check.ExecuteScalarAsync<long>("SELECT sum(amount_micros) FROM ledger_entries")).ShouldBe(lots.Sum(lot => lot.Remaining));
        (await check.QueryAsync<(long, long, long)>(
            "SELECT lot_epoch, lot_operation_number, amount_micros FROM lot_draws WHERE epoch = 3 AND operation_number = 2 ORDER BY lot_epoch"))
            .ShouldBe([(2L, 1L, 70L), (3L, 1L, 20L)]);
    }
}
