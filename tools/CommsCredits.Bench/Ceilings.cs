namespace CommsCredits.Bench;

using System.Diagnostics;
using System.Globalization;
using CommsCredits.Chaos;
using CommsCredits.Gateway.Balances;
using Npgsql;

/// <summary>The raw ceilings of this machine, measured on the same Redis and PostgreSQL before the gateway is loaded.</summary>
public sealed record CeilingResult(
    double RedisScriptRps, double RedisScriptPipelinedRps, double ReserveScriptRps, double ReserveScriptMicroseconds, double PostgresCommitsPerSecond, double PostgresBatchedRowsPerSecond);

/// <summary>
/// redis-benchmark running EVALSHA of a script shaped like our Reserve (read an account hash, check, raise its held,
/// write a session hash, add the session to a deadline set), without and with pipelining; and pgbench inserting
/// ledger-sized rows, one row per committed transaction and 64 per transaction (our settlement writer commits groups).
/// </summary>
public static class Ceilings
{
    private const string ReserveLikeScript =
        "local b = tonumber(redis.call('HGET', KEYS[1], 'balance') or '0') " +
        "local h = tonumber(redis.call('HGET', KEYS[1], 'held') or '0') " +
        "if b - h < tonumber(ARGV[1]) then return 0 end " +
        "redis.call('HINCRBY', KEYS[1], 'held', ARGV[1]) " +
        "redis.call('HSET', KEYS[2], 'held', ARGV[1], 'number', 0, 'expires', ARGV[2]) " +
        "redis.call('ZADD', KEYS[3], ARGV[2], KEYS[2]) " +
        "return 1";

    /// <summary>The Redis database the ceiling's keys live in, apart from the gateway's (0), so that emptying it afterwards leaves the gateway's hot state alone.</summary>
    private const string CeilingDatabase = "1";

    public static async Task<CeilingResult> MeasureAsync(int redisPort, string postgresConnectionString, int seconds, CancellationToken cancellationToken)
    {
        var port = redisPort.ToString(CultureInfo.InvariantCulture);
        // The keys share a hash tag, as one tenant's keys do in our layout.
        await RunAsync("redis-cli", ["-p", port, "-n", CeilingDatabase, "HSET", "{bench}:account", "balance", "1000000000000000000", "held", "0"], cancellationToken);
        var sha = (await RunAsync("redis-cli", ["-p", port, "SCRIPT", "LOAD", ReserveLikeScript], cancellationToken)).Trim();
        var requests = Math.Clamp(seconds, 1, 60) * 20_000;
        string[] command = ["EVALSHA", sha, "3", "{bench}:account", "{bench}:session:__rand_int__", "{bench}:deadlines", "1", "1700000000"];
        var plain = await RedisBenchmarkAsync(port, requests, 1, command, cancellationToken);
        var pipelined = await RedisBenchmarkAsync(port, requests * 5, 16, command, cancellationToken);
        await RunAsync("redis-cli", ["-p", port, "-n", CeilingDatabase, "FLUSHDB"], cancellationToken);
        // Each call leaves a session behind (1-3 KB): the count, not the time, bounds what it takes.
        var (reserveRps, reserveMicroseconds) = await ReserveScriptAsync(port, Math.Clamp(seconds, 1, 10) * 10_000, cancellationToken);
        await RunAsync("redis-cli", ["-p", port, "-n", CeilingDatabase, "FLUSHDB"], cancellationToken);

        var (commits, rows) = await PostgresAsync(postgresConnectionString, Math.Clamp(seconds / 3, 3, 30), cancellationToken);
        return new CeilingResult(plain, pipelined, reserveRps, reserveMicroseconds, commits, rows);
    }

    /// <summary>
    /// The gateway's own Reserve script (reserve.lua with its prelude, as HotScript composes it) run by redis-benchmark
    /// alone, each call opening a new session of one funded tenant: what one Redis thread can do for Reserve with no
    /// gateway in front of it. Returns calls/s and Redis's own microseconds per call (INFO commandstats).
    /// </summary>
    private static async Task<(double Rps, double Microseconds)> ReserveScriptAsync(string port, int calls, CancellationToken cancellationToken)
    {
        var text = HotScript.Get(HotScriptName.Reserve).Text;
        await RunAsync("redis-cli", ["-p", port, "-n", CeilingDatabase, "HSET", "cc:{bench}:account", "epoch", "1", "balance", "1000000000000000", "held", "0", "opseq", "0"], cancellationToken);
        var sha = (await RunAsync("redis-cli", ["-p", port, "SCRIPT", "LOAD", text], cancellationToken)).Trim();
        string[] command =
        [
            "EVALSHA", sha, "6", "cc:{bench}:account", "cc:{bench}:session:__rand_int__", "cc:{bench}:lots", "cc:{bench}:lot_expiry", "cc:{bench}:session_deadlines",
            "cc:{bench}:pending",
            // fingerprint, now ms, requested s, validity s, max session s, rate, fee, first and next increment, call type,
            // user, calling, called, destination, prefix, effective from, session id, denial retention s, no pool
            // (id, size, month), credits allowed, supervision window ms, most open sessions.
            new string('f', 64), "1764752000000", "60", "3600", "604800", "20000", "0", "60", "60", "2", "user-000001", "+441234567890", "+33123456789",
            "France mobile", "336", "1700000000000", "__rand_int__", "600", "", "0", "202612", "1", "3630000", "100000000",
        ];
        // One call first, which must open its session: a script that errors (a prelude the gateway has and this build
        // lacks, arguments out of step with reserve.lua) would otherwise be timed as if it worked.
        string[] probe = ["-p", port, "-n", CeilingDatabase, .. command.Select(argument => argument.Replace("__rand_int__", "probe", StringComparison.Ordinal))];
        var answer = await RunAsync("redis-cli", probe, cancellationToken);
        if (!answer.StartsWith("ok\n", StringComparison.Ordinal))
        {
            throw new ChaosSetupException("the gateway's reserve.lua did not open a session in Redis alone; it answered: " + answer.Trim());
        }

        await RunAsync("redis-cli", ["-p", port, "CONFIG", "RESETSTAT"], cancellationToken);
        var rps = await RedisBenchmarkAsync(port, calls, 1, command, cancellationToken);
        var evalsha = (await CommandStatsAsync(port, cancellationToken))["evalsha"];
        return (rps, (double)evalsha.Microseconds / evalsha.Calls);
    }

    /// <summary>Redis's INFO commandstats: calls and microseconds spent, by command (evalsha, hget, ...).</summary>
    public static async Task<IReadOnlyDictionary<string, (long Calls, long Microseconds)>> CommandStatsAsync(string port, CancellationToken cancellationToken)
    {
        var info = await RunAsync("redis-cli", ["-p", port, "INFO", "commandstats"], cancellationToken);
        var stats = new Dictionary<string, (long Calls, long Microseconds)>(StringComparer.Ordinal);
        foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries))
        {
            // cmdstat_evalsha:calls=123,usec=4567,usec_per_call=37.13,rejected_calls=0,failed_calls=0
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
            var fields = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(',').Select(field => field.Split('=')).ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
            stats[name] = (long.Parse(fields["calls"], CultureInfo.InvariantCulture), long.Parse(fields["usec"], CultureInfo.InvariantCulture));
        }

        return stats;
    }

    private static async Task<double> RedisBenchmarkAsync(string port, int requests, int pipeline, string[] command, CancellationToken cancellationToken)
    {
        string[] arguments =
        [
            "-h", "127.0.0.1", "-p", port, "-c", "50", "-n", requests.ToString(CultureInfo.InvariantCulture), "-r", "1000000",
            "-P", pipeline.ToString(CultureInfo.InvariantCulture), "--dbnum", CeilingDatabase, "--csv", .. command,
        ];
        var output = await RunAsync("redis-benchmark", arguments, cancellationToken);
        // --csv: a header line "test","rps",... and then one line per test: "EVALSHA ...","123456.79",...
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
        var fields = line.Split("\",\"");
        return double.Parse(fields[1].Trim('"'), CultureInfo.InvariantCulture);
    }

    private static async Task<(double Commits, double Rows)> PostgresAsync(string connectionString, int seconds, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand(
                "DROP TABLE IF EXISTS bench_ceiling; CREATE TABLE bench_ceiling (entry_id bigserial PRIMARY KEY, tenant_id text NOT NULL, amount_micros bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
                connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var directory = Directory.CreateTempSubdirectory("commscredits-bench-");
        try
        {
            var single = Path.Combine(directory.FullName, "single.sql");
            await File.WriteAllTextAsync(single, "INSERT INTO bench_ceiling (tenant_id, amount_micros) VALUES ('t' || (random() * 50)::int, 1000);\n", cancellationToken);
            var batch = Path.Combine(directory.FullName, "batch.sql");
            await File.WriteAllTextAsync(batch, "INSERT INTO bench_ceiling (tenant_id, amount_micros) SELECT 't' || (g % 50), 1000 FROM generate_series(1, 64) g;\n", cancellationToken);
            var commits = await PgbenchAsync(builder, single, seconds, cancellationToken);
            var batches = await PgbenchAsync(builder, batch, seconds, cancellationToken);
            return (commits, batches * 64);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Transactions per second pgbench reports for a script with 8 clients on 2 threads.</summary>
    private static async Task<double> PgbenchAsync(NpgsqlConnectionStringBuilder builder, string script, int seconds, CancellationToken cancellationToken)
    {
        var pgbench = Directory.GetDirectories("/usr/lib/postgresql").Select(version => Path.Combine(version, "bin", "pgbench")).Where(File.Exists).OrderDescending(StringComparer.Ordinal).FirstOrDefault()
            ?? throw new ChaosSetupException("pgbench not found in /usr/lib/postgresql/<version>/bin (Debian's postgresql package ships it)");
        var output = await RunAsync(pgbench,
        [
            "-h", builder.Host!, "-p", builder.Port.ToString(CultureInfo.InvariantCulture), "-U", builder.Username ?? "postgres", "-n", "-c", "8", "-j", "2",
            "-T", seconds.ToString(CultureInfo.InvariantCulture), "-f", script, builder.Database!,
        ], cancellationToken);
        // "tps = 1234.567890 (without initial connection time)"
        var line = output.Split('\n').FirstOrDefault(text => text.StartsWith("tps = ", StringComparison.Ordinal))
            ?? throw new ChaosSetupException("pgbench printed no tps line: " + output);
        return double.Parse(line["tps = ".Length..].Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>Runs a program to its end (at most 5 minutes) and returns its standard output; a non-zero exit fails.</summary>
    public static async Task<string> RunAsync(string program, string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new ChaosSetupException("could not start " + program);
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new ChaosSetupException($"{program} failed with exit code {process.ExitCode}: {await errors}");
        }

        return await output;
    }
}
