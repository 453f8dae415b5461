using System.Globalization;
using CommsCredits.Tests.Infrastructure.Internal;
using Npgsql;
using Shouldly;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace CommsCredits.Tests.Infrastructure;

public sealed class TestServersTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Concurrent_callers_share_one_instance_whose_servers_answer()
    {
        // Proves SharedAsync starts the servers once for all callers, and that both connection strings work with our clients.
        var all = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(TestServers.SharedAsync)));
        var servers = all[0];
        all.ShouldAllBe(instance => ReferenceEquals(instance, servers));
        output.WriteLine("Shared servers started in " + servers.StartDuration.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms");

        using var redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);
        (await redis.GetDatabase().PingAsync()).ShouldBeLessThan(TimeSpan.FromSeconds(5));
        (await ScalarAsync(servers.PostgresConnectionString, "SELECT current_database()")).ShouldBe("postgres");
    }

    [Fact]
    public async Task Each_created_database_is_fresh_empty_and_isolated()
    {
        // Proves two databases made with the same prefix are distinct and empty, and that a table in one is absent from the other.
        var servers = await TestServers.SharedAsync();
        var first = await servers.CreateDatabaseAsync("isolation");
        var second = await servers.CreateDatabaseAsync("isolation");
        first.ShouldNotBe(second, StringComparer.Ordinal);

        const string countTables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'";
        (await ScalarAsync(first, countTables)).ShouldBe(0L);
        await ScalarAsync(first, "CREATE TABLE balances (tenant text); SELECT 1");
        (await ScalarAsync(first, countTables)).ShouldBe(1L);
        (await ScalarAsync(second, countTables)).ShouldBe(0L);
        ((string)(await ScalarAsync(first, "SELECT current_database()"))!).ShouldStartWith("isolation_");
    }

    [Theory]
    [InlineData("ledger", "ledger_")]
    [InlineData("Ledger-Tests", "ledger_tests_")]
    [InlineData("42 rates", "db_42_rates_")]
    public void Database_names_are_valid_identifiers_that_keep_the_prefix(string prefix, string expectedStart)
    {
        // Proves any prefix becomes a lower-case, unquoted-safe name within PostgreSQL's 63-byte limit.
        var name = TestServers.CreateDatabaseName(prefix);
        name.ShouldStartWith(expectedStart);
        name.ShouldMatch("^[a-z_][a-z0-9_]*$");
        TestServers.CreateDatabaseName(new string('x', 200)).Length.ShouldBeLessThanOrEqualTo(63);
    }

    [Fact]
    public void Environment_variables_choose_existing_servers_and_blank_means_unset()
    {
        // Proves the two override variables are read, trimmed, validated, and ignored when blank.
        var variables = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["COMMSCREDITS_TEST_REDIS"] = " 10.0.0.5:6380 ",
            ["COMMSCREDITS_TEST_POSTGRES"] = "Host=db;Username=ci",
        };
        var settings = TestServerSettings.FromVariables(name => variables.GetValueOrDefault(name));
        settings.RedisOverride.ShouldBe("10.0.0.5:6380");
        settings.PostgresOverride.ShouldBe("Host=db;Username=ci");

        var unset = TestServerSettings.FromVariables(_ => "  ");
        unset.RedisOverride.ShouldBeNull();
        unset.PostgresOverride.ShouldBeNull();

        Should.Throw<ArgumentException>(() => TestServerSettings.FromVariables(name => string.Equals(name, "COMMSCREDITS_TEST_REDIS", StringComparison.Ordinal) ? "localhost" : null))
            .Message.ShouldContain("COMMSCREDITS_TEST_REDIS");
        Should.Throw<ArgumentException>(() => TestServerSettings.FromVariables(name => string.Equals(name, "COMMSCREDITS_TEST_POSTGRES", StringComparison.Ordinal) ? "Nonsense=1" : null))
            .Message.ShouldContain("COMMSCREDITS_TEST_POSTGRES");
    }

    [Fact]
    public async Task Overrides_are_used_instead_of_starting_servers()
    {
        // Proves that with both overrides set, TestServers hands out exactly those servers and creates databases on the given PostgreSQL.
        await using var redis = await RedisServerProcess.StartAsync();
        var shared = await TestServers.SharedAsync();
        var settings = new TestServerSettings(redis.Configuration, shared.PostgresConnectionString, TimeSpan.FromSeconds(5));

        var servers = await TestServers.StartAsync(settings, CancellationToken.None);

        servers.RedisConfiguration.ShouldBe(redis.Configuration);
        servers.PostgresConnectionString.ShouldBe(shared.PostgresConnectionString);
        var database = await servers.CreateDatabaseAsync("override");
        new NpgsqlConnectionStringBuilder(database).Port.ShouldBe(new NpgsqlConnectionStringBuilder(shared.PostgresConnectionString).Port);
    }

    [Fact]
    public async Task An_unreachable_override_fails_with_a_message_naming_the_variable()
    {
        // Proves a wrong COMMSCREDITS_TEST_REDIS fails within its timeout and says which setting to fix.
        var nobodyListens = "127.0.0.1:" + FreePorts.Pick().ToString(CultureInfo.InvariantCulture);
        var shared = await TestServers.SharedAsync();
        var settings = new TestServerSettings(nobodyListens, shared.PostgresConnectionString, TimeSpan.FromMilliseconds(300));

        var failure = await Should.ThrowAsync<ServerStartException>(() => TestServers.StartAsync(settings, CancellationToken.None));

        failure.Message.ShouldContain("COMMSCREDITS_TEST_REDIS=" + nobodyListens);
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
