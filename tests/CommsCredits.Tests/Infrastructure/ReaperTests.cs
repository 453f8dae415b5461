using System.Diagnostics;
using System.Globalization;
using CommsCredits.Tests.Infrastructure.Internal;
using Shouldly;
using Xunit;

namespace CommsCredits.Tests.Infrastructure;

public sealed class ReaperTests
{
    [Fact]
    public async Task A_later_run_reaps_the_servers_of_a_test_process_that_is_gone_and_nothing_else()
    {
        // Proves the sweep kills Redis and a paused PostgreSQL (postmaster and children) left in the directory of a dead
        // test process, deletes that directory, and spares a live process whose id merely appears in a stale pid file.
        var processDirectory = Directory.CreateDirectory(Path.Combine(TestProcessDirectory.BaseDirectory, DeadOwnerName())).FullName;
        var (redis, postgres) = await StartServersInAsync(processDirectory);
        await using var disposeRedis = redis;
        await using var disposePostgres = postgres;
        await postgres.PauseAsync();
        var postgresProcesses = UnixProcesses.FindChildren(postgres.PostmasterProcessId).Append(postgres.PostmasterProcessId).ToList();
        using var bystander = StartBystanderWithStalePidFile(processDirectory);

        TestProcessDirectory.SweepStaleDirectories();

        UnixProcesses.IsAlive(redis.ProcessId!.Value).ShouldBeFalse();
        postgresProcesses.ShouldAllBe(processId => !UnixProcesses.IsAlive(processId));
        Directory.Exists(processDirectory).ShouldBeFalse();
        bystander.HasExited.ShouldBeFalse();
        bystander.Kill();
    }

    [Fact]
    public async Task The_guardian_reaps_as_soon_as_its_lifeline_closes()
    {
        // Proves the guardian waits while the test process holds its standard input, and reaps when that pipe closes,
        // which is what happens when the test process dies in any way.
        var processDirectory = Directory.CreateDirectory(Path.Combine(TestProcessDirectory.BaseDirectory, "guardian-test-" + Guid.NewGuid().ToString("N"))).FullName;
        await using var redis = await RedisServerProcess.StartAsync(
            await TestProcessDirectory.CreateServerDirectoryAsync(processDirectory, "redis", ownedByPostgresUser: false, CancellationToken.None),
            CancellationToken.None);
        using var guardian = Reaper.StartGuardian(processDirectory);

        guardian.WaitForExit(TimeSpan.FromMilliseconds(200)).ShouldBeFalse();
        UnixProcesses.IsAlive(redis.ProcessId!.Value).ShouldBeTrue();

        guardian.StandardInput.Close();
        guardian.WaitForExit(TimeSpan.FromSeconds(10)).ShouldBeTrue();
        UnixProcesses.IsAlive(redis.ProcessId!.Value).ShouldBeFalse();
        Directory.Exists(processDirectory).ShouldBeFalse();
    }

    [Fact]
    public void A_directory_is_stale_only_when_no_process_has_its_id_and_start_time()
    {
        // Proves ids are checked together with start times (ids are reused), and that foreign directory names are left alone.
        TestProcessDirectory.IsOwnerGone(TestProcessDirectory.NameFor(Environment.ProcessId)).ShouldBeFalse();
        var startTicks = UnixProcesses.ReadStartTimeTicks(Environment.ProcessId)!.Value;
        TestProcessDirectory.IsOwnerGone(string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}-{startTicks + 1}")).ShouldBeTrue();
        TestProcessDirectory.IsOwnerGone(DeadOwnerName()).ShouldBeTrue();
        TestProcessDirectory.IsOwnerGone("someone-elses").ShouldBeFalse();
    }

    private static async Task<(RedisServerProcess Redis, PostgresServerProcess Postgres)> StartServersInAsync(string processDirectory)
    {
        var asPostgresUser = PostgresInstallation.Current.RunsAsPostgresUser;
        var redis = await RedisServerProcess.StartAsync(
            await TestProcessDirectory.CreateServerDirectoryAsync(processDirectory, "redis", ownedByPostgresUser: false, CancellationToken.None),
            CancellationToken.None);
        var postgres = await PostgresServerProcess.StartAsync(
            await TestProcessDirectory.CreateServerDirectoryAsync(processDirectory, "postgres", asPostgresUser, CancellationToken.None),
            CancellationToken.None);
        return (redis, postgres);
    }

    // A process that is not a server of ours, whose id sits in a pid file as if it had been reused.
    private static Process StartBystanderWithStalePidFile(string processDirectory)
    {
        var bystander = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true })!;
        var staleServer = Directory.CreateDirectory(Path.Combine(processDirectory, "redis-stale")).FullName;
        File.WriteAllText(Path.Combine(staleServer, "server.pid"), bystander.Id.ToString(CultureInfo.InvariantCulture));
        return bystander;
    }

    // Linux process ids stay below 2^22, so this owner never exists.
    private static string DeadOwnerName() => "999999999-" + Random.Shared.NextInt64(1, long.MaxValue).ToString(CultureInfo.InvariantCulture);
}
