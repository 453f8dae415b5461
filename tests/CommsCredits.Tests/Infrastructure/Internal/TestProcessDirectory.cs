using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>
/// The scratch directory of this test process: {temp}/commscredits-tests-{user}/{pid}-{start ticks}/, one
/// sub-directory per server. The name identifies the owning process, so a later run can tell a directory
/// whose owner is gone and reap it. Servers register here to be stopped at process exit.
/// </summary>
internal static class TestProcessDirectory
{
    // Bounds the sweep of directories left by crashed runs.
    private const int StaleDirectoryCountMax = 256;

    private static readonly TimeSpan ExitStopTimeout = TimeSpan.FromSeconds(5);
    private static readonly ConcurrentDictionary<IOwnedServer, byte> OwnedServers = new();
    private static readonly Lazy<string> Current = new(CreateCurrent, LazyThreadSafetyMode.ExecutionAndPublication);

    // Held for the life of the process: its standard input is the guardian's lifeline.
    private static Process? guardian;

    public static string BaseDirectory { get; } = Path.Combine(Path.GetTempPath(), "commscredits-tests-" + Environment.UserName);

    /// <summary>Creates an empty directory for one server; owned by the postgres user when PostgreSQL must run as that user.</summary>
    public static Task<string> CreateServerDirectoryAsync(string kind, bool ownedByPostgresUser, CancellationToken cancellationToken) =>
        CreateServerDirectoryAsync(Current.Value, kind, ownedByPostgresUser, cancellationToken);

    /// <summary>As above, under another process directory (the tests of the reaper build one whose owner is gone).</summary>
    public static async Task<string> CreateServerDirectoryAsync(string processDirectory, string kind, bool ownedByPostgresUser, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(processDirectory, kind + "-" + Guid.NewGuid().ToString("N")[..12]);
        if (ownedByPostgresUser)
        {
            await ProcessRunner.RunAsync("install", ["-d", "-o", "postgres", "-g", "postgres", "-m", "0700", directory], processDirectory, cancellationToken);
        }
        else
        {
            Directory.CreateDirectory(directory);
        }

        return directory;
    }

    public static void Register(IOwnedServer server) => OwnedServers.TryAdd(server, 0);

    public static void Unregister(IOwnedServer server) => OwnedServers.TryRemove(server, out _);

    /// <summary>Reaps the directories of test processes that are gone (crashed, or killed before they cleaned up).</summary>
    public static void SweepStaleDirectories()
    {
        if (!Directory.Exists(BaseDirectory))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(BaseDirectory).Take(StaleDirectoryCountMax))
        {
            if (IsOwnerGone(Path.GetFileName(directory)))
            {
                Reaper.Sweep(directory);
            }
        }
    }

    /// <summary>The owner of "{pid}-{start ticks}" is gone when no process has that id and start time.</summary>
    public static bool IsOwnerGone(string directoryName)
    {
        var parts = directoryName.Split('-');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var processId)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var startTimeTicks))
        {
            // Not a directory of ours: leave it alone.
            return false;
        }

        return UnixProcesses.ReadStartTimeTicks(processId) != startTimeTicks;
    }

    public static string NameFor(int processId) =>
        string.Create(CultureInfo.InvariantCulture, $"{processId}-{UnixProcesses.ReadStartTimeTicks(processId)}");

    private static string CreateCurrent()
    {
        Directory.CreateDirectory(BaseDirectory);
        SweepStaleDirectories();
        var directory = Path.Combine(BaseDirectory, NameFor(Environment.ProcessId));
        Directory.CreateDirectory(directory);
        guardian = Reaper.StartGuardian(directory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopOwnedServers(directory);
        return directory;
    }

    private static void StopOwnedServers(string directory)
    {
        var servers = OwnedServers.Keys.ToArray();
        foreach (var server in servers)
        {
            server.SignalStopAtExit();
        }

        var deadlineUtc = DateTime.UtcNow + ExitStopTimeout;
        foreach (var server in servers)
        {
            server.WaitForStopAtExit(deadlineUtc);
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // The guardian deletes what is left once this process is gone.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }

        // Closing the lifeline lets the guardian finish now rather than when the process is torn down.
        guardian?.StandardInput.Close();
    }
}
