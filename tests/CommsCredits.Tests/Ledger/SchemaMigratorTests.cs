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
}
