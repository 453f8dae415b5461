using System.Globalization;
using Npgsql;

namespace CommsCredits.Tests.Infrastructure;

/// <summary>
/// Where the shared test servers come from. By default the tests start their own redis-server and
/// PostgreSQL; two environment variables point them at servers that already run instead:
/// <list type="bullet">
/// <item>COMMSCREDITS_TEST_REDIS: a Redis "host:port" (it is shared with every test of the run; tests that flush or restart Redis start their own <see cref="RedisServerProcess"/>).</item>
/// <item>COMMSCREDITS_TEST_POSTGRES: an Npgsql connection string whose user may create databases; each test database is created there and dropped when the test process exits.</item>
/// </list>
/// </summary>
internal sealed record TestServerSettings(string? RedisOverride, string? PostgresOverride, TimeSpan ReachTimeout)
{
    public const string RedisVariable = "COMMSCREDITS_TEST_REDIS";
    public const string PostgresVariable = "COMMSCREDITS_TEST_POSTGRES";

    private static readonly TimeSpan DefaultReachTimeout = TimeSpan.FromSeconds(15);

    public static TestServerSettings FromEnvironment() => FromVariables(Environment.GetEnvironmentVariable);

    /// <summary>Reads the overrides through <paramref name="readVariable"/>; an empty value counts as unset.</summary>
    public static TestServerSettings FromVariables(Func<string, string?> readVariable)
    {
        var redis = NullIfBlank(readVariable(RedisVariable));
        var postgres = NullIfBlank(readVariable(PostgresVariable));
        if (redis is not null)
        {
            _ = ParseRedisEndpoint(redis);
        }

        if (postgres is not null)
        {
            ValidatePostgres(postgres);
        }

        return new TestServerSettings(redis, postgres, DefaultReachTimeout);
    }

    /// <summary>The host and port of a Redis "host:port" (options after a comma are allowed and ignored here).</summary>
    public static (string Host, int Port) ParseRedisEndpoint(string configuration)
    {
        var endpoint = configuration.Split(',')[0].Trim();
        var separator = endpoint.LastIndexOf(':');
        if (separator <= 0
            || !int.TryParse(endpoint[(separator + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            throw new ArgumentException(RedisVariable + " must be a Redis host:port such as 127.0.0.1:6379, not '" + configuration + "'.", nameof(configuration));
        }

        return (endpoint[..separator], port);
    }

    private static void ValidatePostgres(string connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException exception)
        {
            throw new ArgumentException(PostgresVariable + " must be an Npgsql connection string such as 'Host=127.0.0.1;Port=5432;Username=postgres': " + exception.Message, nameof(connectionString), exception);
        }
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
