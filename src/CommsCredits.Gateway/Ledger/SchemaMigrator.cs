namespace CommsCredits.Gateway.Ledger;

using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

/// <summary>
/// Applies the versioned SQL migrations embedded in this assembly (Ledger/Migrations/NNNN_name.sql), in order,
/// each in its own transaction, once. Several gateways starting together serialize on an advisory lock. A migration
/// that was applied and has since been edited stops the start-up: history must not be rewritten.
/// </summary>
public sealed partial class SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger)
{
    // Any constant works; it only has to differ from the other advisory locks we take (see LedgerLocks).
    private const long MigrationLockKey = 0x436f6d6d734d6967;

    public static IReadOnlyList<Migration> EmbeddedMigrations { get; } = LoadEmbeddedMigrations();

    public async Task<int> ApplyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // A session lock for the whole run: even CREATE TABLE IF NOT EXISTS races when two gateways start together.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection))
        {
            lockCommand.Parameters.AddWithValue("key", MigrationLockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            return await ApplyLockedAsync(connection, cancellationToken);
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            unlock.Parameters.AddWithValue("key", MigrationLockKey);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private async Task<int> ApplyLockedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var create = new NpgsqlCommand(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """,
            connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = 0;
        foreach (var migration in EmbeddedMigrations)
        {
            if (await ApplyOneAsync(connection, migration, cancellationToken))
            {
                applied++;
            }
        }

        return applied;
    }

    private async Task<bool> ApplyOneAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var check = new NpgsqlCommand("SELECT checksum FROM schema_migrations WHERE version = @version", connection, transaction))
        {
            check.Parameters.AddWithValue("version", migration.Version);
            if (await check.ExecuteScalarAsync(cancellationToken) is string checksum)
            {
                if (!string.Equals(checksum, migration.Checksum, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException(
                        $"migration {migration.Version} ({migration.Name}) was applied with checksum {checksum} but the embedded file now has {migration.Checksum}; applied migrations must never change, add a new one");
                }

                await transaction.RollbackAsync(cancellationToken);
                return false;
            }
        }

        await using (var apply = new NpgsqlCommand(migration.Sql, connection, transaction))
        {
            await apply.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var record = new NpgsqlCommand(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)", connection, transaction))
        {
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("name", migration.Name);
            record.Parameters.AddWithValue("checksum", migration.Checksum);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        LogApplied(logger, migration.Version, migration.Name);
        return true;
    }

    private static List<Migration> LoadEmbeddedMigrations()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        const string marker = ".Ledger.Migrations.";
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var start = resource.IndexOf(marker, StringComparison.Ordinal);
            if (start < 0 || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var fileName = resource[(start + marker.Length)..^".sql".Length];
            var separator = fileName.IndexOf('_', StringComparison.Ordinal);
            if (separator <= 0 || !int.TryParse(fileName.AsSpan(0, separator), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"migration resource '{resource}' is not named NNNN_name.sql");
            }

            var sql = ReadResource(assembly, resource);
            migrations.Add(new Migration(version, fileName[(separator + 1)..], sql, Checksum(sql)));
        }

        migrations.Sort((left, right) => left.Version.CompareTo(right.Version));
        for (var index = 1; index < migrations.Count; index++)
        {
            if (migrations[index].Version == migrations[index - 1].Version)
            {
                throw new InvalidOperationException($"two migrations have version {migrations[index].Version}");
            }
        }

        return migrations;
    }

    private static string ReadResource(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource '{resource}' is missing");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static string Checksum(string sql) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n"))));

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Version} ({Name})")]
    private static partial void LogApplied(ILogger logger, int version, string name);

    /// <summary>One embedded migration.</summary>
    public sealed record Migration(int Version, string Name, string Sql, string Checksum);
}
