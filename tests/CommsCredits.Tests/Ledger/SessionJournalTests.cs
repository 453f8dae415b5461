namespace CommsCredits.Tests.Ledger;

using CommsCredits.Gateway.Ledger;
using CommsCredits.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shouldly;
using Xunit;

/// <summary>The supervisor's purge of the session journal (SessionJournal.PurgeAsync), on a real PostgreSQL.</summary>
public sealed class SessionJournalTests
{
    [Fact]
    public async Task The_purge_removes_old_steps_of_closed_and_unrestorable_sessions_and_keeps_calls_in_progress_and_young_steps()
    {
        // Proves what the purge takes: steps older than PurgeAge of a session with a call record (left behind by its
        // closing) or without an opening (unrestorable). It keeps every step of a call in progress however old, and any
        // step younger than PurgeAge, which it does not read at all (before, it took a closed session's step at once).
        var dataSource = await NewJournalAsync();
        await using (dataSource)
        {
            var old = DateTimeOffset.UtcNow - SessionJournal.PurgeAge - TimeSpan.FromHours(1);
            var young = DateTimeOffset.UtcNow - TimeSpan.FromHours(1);
            await using var connection = await dataSource.OpenConnectionAsync();
            await InsertStepAsync(connection, operation: 1, session: 1, step: 1, old);   // a long call in progress: kept
            await InsertStepAsync(connection, operation: 2, session: 1, step: 2, old);
            await InsertStepAsync(connection, operation: 3, session: 2, step: 2, old);   // closed: purged
            await InsertStepAsync(connection, operation: 4, session: 3, step: 2, young); // closed, young: kept
            await InsertStepAsync(connection, operation: 5, session: 4, step: 2, old);   // no opening: purged
            await InsertStepAsync(connection, operation: 6, session: 5, step: 2, young); // no opening, young: kept
            await InsertCallRecordAsync(connection, session: 2);
            await InsertCallRecordAsync(connection, session: 3);
            var journal = new SessionJournal(dataSource);

            (await journal.PurgeAsync(limit: 1, CancellationToken.None)).ShouldBe(1, "a round deletes at most its limit");
            (await journal.PurgeAsync(limit: 100, CancellationToken.None)).ShouldBe(1);
            (await journal.PurgeAsync(limit: 100, CancellationToken.None)).ShouldBe(0);

            (await connection.QueryAsync<long>("SELECT operation_number FROM session_steps ORDER BY operation_number")).ShouldBe([1L, 2L, 4L, 6L]);
        }
    }

    private static async Task<NpgsqlDataSource> NewJournalAsync()
    {
        var servers = await TestServers.SharedAsync();
        var dataSource = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("journal"));
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).ApplyAsync(CancellationToken.None);
        await LedgerPartitions.EnsureAsync(dataSource, DateTimeOffset.UtcNow, 1, CancellationToken.None);
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("INSERT INTO tenants (tenant_id, currency, display_name, hot_epoch) VALUES ('journal', 'EUR', 'Journal', 1)");
        return dataSource;
    }

    private static Task<int> InsertStepAsync(NpgsqlConnection connection, long operation, long session, short step, DateTimeOffset recordedAt) =>
        connection.ExecuteAsync(
            """
            INSERT INTO session_steps (tenant_id, epoch, operation_number, session_epoch, session_number, session_id, step, request, used_seconds,
                                       charged_micros, pool_seconds, allotted_seconds, hold_micros, granted_seconds, deadline_at, answer, opening, recorded_at)
            VALUES ('journal', 1, @operation, 1, @session, 's-' || @session, @step, CASE WHEN @step = 1 THEN '0' ELSE '1' END, 0,
                    0, 0, 0, 1000, 60, @recordedAt + interval '15 minutes', 'answer', CASE WHEN @step = 1 THEN 'opening' END, @recordedAt)
            """,
            new { operation, session, step, recordedAt });

    private static Task<int> InsertCallRecordAsync(NpgsqlConnection connection, long session) =>
        connection.ExecuteAsync(
            """
            INSERT INTO call_records (tenant_id, epoch, session_number, session_id, user_id, call_type, calling_number, called_number,
                                      started_at, ended_at, used_seconds, billed_seconds, charge_micros, uncharged_micros, currency,
                                      destination_name, rated_prefix, rate_per_minute_micros, connection_fee_micros,
                                      first_increment_seconds, next_increment_seconds, rate_effective_from, termination_cause)
            VALUES ('journal', 1, @session, 's-' || @session, 'u', 1, '+1', '+44', now() - interval '1 minute', now(), 60, 60, 30000, 0, 'EUR',
                    'UK', '44', 30000, 0, 60, 60, '2020-01-01Z', 1)
            """,
            new { session });
}
