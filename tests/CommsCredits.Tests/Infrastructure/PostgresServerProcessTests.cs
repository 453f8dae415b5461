using System.Diagnostics;
using CommsCredits.Tests.Infrastructure.Internal;
using Npgsql;
using Shouldly;
using Xunit;

namespace CommsCredits.Tests.Infrastructure;

public sealed class PostgresServerProcessTests
{
    [Fact]
    public async Task Stop_then_start_again_keeps_the_port_and_the_data()
    {
        // Proves a stopped server refuses connections, and that a restart on the same port still has the rows written before.
        await using var postgres = await PostgresServerProcess.StartAsync();
        var port = postgres.Port;
        await ExecuteAsync(postgres.ConnectionString, "CREATE TABLE ledger (amount bigint); INSERT INTO ledger VALUES (42)");

        await postgres.StopAsync();
        (await ReadinessProbes.PostgresAnswersQueryAsync(postgres.ConnectionString, CancellationToken.None)).ShouldBeFalse();
        await postgres.StopAsync(); // stopping a stopped server is a no-op

        await postgres.StartAgainAsync();
        postgres.Port.ShouldBe(port);
        NpgsqlConnection.ClearAllPools();
        (await ScalarAsync(postgres.ConnectionString, "SELECT amount FROM ledger")).ShouldBe(42L);
    }

    [Fact]
    public async Task Pause_stalls_every_query_until_resume()
    {
        // Proves PauseAsync simulates a stalled database: an open session and a new connection both time out, and both work after ResumeAsync.
        // Only the attempts made while paused are impatient; opening before the pause and after the resume may take as long as a loaded CI machine needs.
        await using var postgres = await PostgresServerProcess.StartAsync();
        var patient = new NpgsqlConnectionStringBuilder(postgres.ConnectionString)
        {
            Pooling = false,
            Timeout = 30,
            CommandTimeout = 1,
            // Do not wait for the answer to the cancellation of a timed-out query: nobody answers while paused.
            CancellationTimeout = -1,
        };
        var impatient = new NpgsqlConnectionStringBuilder(patient.ConnectionString) { Timeout = 1 }.ConnectionString;
        await using var openSession = new NpgsqlConnection(patient.ConnectionString);
        await openSession.OpenAsync();

        await postgres.PauseAsync();
        await Should.ThrowAsync<NpgsqlException>(async () => await ScalarOnAsync(openSession, "SELECT 1"));
        await Should.ThrowAsync<NpgsqlException>(async () => await ScalarAsync(impatient, "SELECT 1"));

        await postgres.ResumeAsync();
        var afterResume = new NpgsqlConnectionStringBuilder(patient.ConnectionString) { CommandTimeout = 30 }.ConnectionString;
        (await ScalarAsync(afterResume, "SELECT 1")).ShouldBe(1);
    }

    [Fact]
    public async Task A_paused_server_still_stops_and_leaves_no_process()
    {
        // Proves disposing a paused server does not hang and ends the postmaster and all its children.
        var postgres = await PostgresServerProcess.StartAsync();
        var postmaster = postgres.PostmasterProcessId;
        var children = UnixProcesses.FindChildren(postmaster);
        children.ShouldNotBeEmpty();
        await postgres.PauseAsync();

        var stopwatch = Stopwatch.StartNew();
        await postgres.DisposeAsync();

        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        UnixProcesses.IsAlive(postmaster).ShouldBeFalse();
        children.ShouldAllBe(child => !UnixProcesses.IsAlive(child));
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return await ScalarOnAsync(connection, sql);
    }

    private static async Task<object?> ScalarOnAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
