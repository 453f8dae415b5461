using System.Collections.Concurrent;
using System.Diagnostics;
using CommsCredits.Tests.Infrastructure.Internal;
using Npgsql;

namespace CommsCredits.Tests.Infrastructure;

/// <summary>
/// The Redis and PostgreSQL that the tests of one test process share: started on first use (both at
/// once), stopped and deleted when the process exits. Each test gets isolation from its own database
/// (<see cref="CreateDatabaseAsync"/>) and its own Redis keys; tests that flush, stop or stall a server
/// start a dedicated <see cref="RedisServerProcess"/> or <see cref="PostgresServerProcess"/> instead.
/// The environment variables COMMSCREDITS_TEST_REDIS and COMMSCREDITS_TEST_POSTGRES replace the
/// servers with ones that already run (see <see cref="TestServerSettings"/>).
/// </summary>
public sealed class TestServers
{
    // Database names are at most 63 bytes; a prefix keeps 40 of them for the caller's words.
    private const int DatabasePrefixLengthMax = 40;

    private static readonly Lazy<Task<TestServers>> Shared = new(
        () => StartAsync(TestServerSettings.FromEnvironment(), CancellationToken.None),
        LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly TimeSpan DropAtExitTimeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentQueue<string> databasesToDropAtExit = new();
    private readonly bool dropsDatabasesAtExit;

    private TestServers(string redisConfiguration, string postgresConnectionString, bool postgresIsOverride, TimeSpan startDuration)
    {
        RedisConfiguration = redisConfiguration;
        PostgresConnectionString = postgresConnectionString;
        StartDuration = startDuration;
        dropsDatabasesAtExit = postgresIsOverride;
        if (postgresIsOverride)
        {
            // Databases on a server that outlives the tests are dropped at exit; our own servers are deleted whole.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => DropDatabasesAtExit();
        }
    }

    /// <summary>A StackExchange.Redis configuration string, "127.0.0.1:PORT" (or the COMMSCREDITS_TEST_REDIS value).</summary>
    public string RedisConfiguration { get; }

    /// <summary>An Npgsql connection string to the 'postgres' maintenance database as superuser (or the COMMSCREDITS_TEST_POSTGRES value).</summary>
    public string PostgresConnectionString { get; }

    /// <summary>How long starting (or reaching) both servers took.</summary>
    internal TimeSpan StartDuration { get; }

    /// <summary>
    /// The servers of this test process, started on the first call; every call returns the same instance.
    /// A failure to start is kept too: every test that asks gets the same error rather than a new attempt.
    /// </summary>
    public static Task<TestServers> SharedAsync() => Shared.Value;

    /// <summary>Creates a fresh, empty database named after <paramref name="namePrefix"/> plus a unique suffix; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string namePrefix, CancellationToken cancellationToken = default)
    {
        var name = CreateDatabaseName(namePrefix);
        await using (var connection = new NpgsqlConnection(PostgresConnectionString))
        {
            await connection.OpenAsync(cancellationToken);

            // template0 holds nothing and accepts no connections, so concurrent creations never find it busy.
            await using var command = new NpgsqlCommand("CREATE DATABASE \"" + name + "\" TEMPLATE template0", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        if (dropsDatabasesAtExit)
        {
            databasesToDropAtExit.Enqueue(name);
        }

        return new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Database = name }.ConnectionString;
    }

    internal static async Task<TestServers> StartAsync(TestServerSettings settings, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var redis = settings.RedisOverride is null ? StartOwnRedisAsync(cancellationToken) : ReachRedisAsync(settings, cancellationToken);
        var postgres = settings.PostgresOverride is null ? StartOwnPostgresAsync(cancellationToken) : ReachPostgresAsync(settings, cancellationToken);

        // If one fails, the other, if it started, is stopped with the process like every server of ours.
        await Task.WhenAll(redis, postgres);

        return new TestServers(await redis, await postgres, settings.PostgresOverride is not null, stopwatch.Elapsed);
    }

    internal static string CreateDatabaseName(string namePrefix)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(namePrefix);
        var characters = namePrefix.ToLowerInvariant()
            .Select(character => character is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' ? character : '_')
            .Take(DatabasePrefixLengthMax)
            .ToArray();
        var prefix = new string(characters);
        if (!char.IsAsciiLetterLower(prefix[0]) && prefix[0] != '_')
        {
            prefix = "db_" + prefix;
        }

        return prefix + "_" + Guid.NewGuid().ToString("N")[..12];
    }

    private static async Task<string> StartOwnRedisAsync(CancellationToken cancellationToken) =>
        (await RedisServerProcess.StartAsync(cancellationToken)).Configuration;

    private static async Task<string> StartOwnPostgresAsync(CancellationToken cancellationToken) =>
        (await PostgresServerProcess.StartAsync(cancellationToken)).ConnectionString;

    private static async Task<string> ReachRedisAsync(TestServerSettings settings, CancellationToken cancellationToken)
    {
        var (host, port) = TestServerSettings.ParseRedisEndpoint(settings.RedisOverride!);
        await ReadinessProbes.WaitUntilReachableAsync(
            TestServerSettings.RedisVariable + "=" + settings.RedisOverride + " (PING)",
            probeCancellation => ReadinessProbes.RedisAnswersPingAsync(host, port, probeCancellation),
            settings.ReachTimeout,
            cancellationToken);
        return settings.RedisOverride!;
    }

    private static async Task<string> ReachPostgresAsync(TestServerSettings settings, CancellationToken cancellationToken)
    {
        var connectionString = settings.PostgresOverride!;
        var host = new NpgsqlConnectionStringBuilder(connectionString).Host;
        await ReadinessProbes.WaitUntilReachableAsync(
            "The PostgreSQL of " + TestServerSettings.PostgresVariable + " (host " + host + ")",
            probeCancellation => ReadinessProbes.PostgresAnswersQueryAsync(connectionString, probeCancellation),
            settings.ReachTimeout,
            cancellationToken);
        return connectionString;
    }

    private void DropDatabasesAtExit()
    {
        var deadline = DateTime.UtcNow + DropAtExitTimeout;
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Pooling = false, Timeout = 2, CommandTimeout = 2 };
        try
        {
            using var connection = new NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            while (DateTime.UtcNow < deadline && databasesToDropAtExit.TryDequeue(out var name))
            {
                // FORCE ends the sessions that pools of this process still hold.
                using var command = new NpgsqlCommand("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)", connection);
                command.ExecuteNonQuery();
            }
        }
        catch (NpgsqlException)
        {
            // Best effort: the test process is ending and the server may be gone already.
        }
    }
}
