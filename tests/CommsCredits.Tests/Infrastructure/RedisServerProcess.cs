using System.Globalization;
using CommsCredits.Tests.Infrastructure.Internal;

namespace CommsCredits.Tests.Infrastructure;

/// <summary>
/// A redis-server of its own, for tests that flush, stop, restart or kill Redis without disturbing
/// others. It listens on 127.0.0.1 on a free port and keeps nothing on disk: a restart starts empty,
/// as Redis does after losing its hot state in production. Unless it is told to SAVE: then restarts
/// load that snapshot, stale by what came after it, until <see cref="ForgetSnapshot"/>.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable, IOwnedServer
{
    private const string Host = "127.0.0.1";
    private const int PortAttemptCountMax = 5;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly string executable;
    private readonly string directory;
    private readonly IReadOnlyList<string> extraArguments;
    private readonly SemaphoreSlim gate = new(1, 1);
    private LoggedProcess? process;
    private bool disposed;

    private RedisServerProcess(string executable, string directory, IReadOnlyList<string> extraArguments)
    {
        this.executable = executable;
        this.directory = directory;
        this.extraArguments = extraArguments;
    }

    public int Port { get; private set; }

    /// <summary>A StackExchange.Redis configuration string, "127.0.0.1:PORT".</summary>
    public string Configuration => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");

    internal int? ProcessId => Volatile.Read(ref process)?.ProcessId;

    internal string ServerDirectory => directory;

    private string PidPath => Path.Combine(directory, "server.pid");

    private string LogPath => Path.Combine(directory, "server.log");

    /// <summary>Starts redis-server on a free loopback port and returns once it answers PING.</summary>
    public static async Task<RedisServerProcess> StartAsync(CancellationToken cancellationToken = default) =>
        await StartAsync(await TestProcessDirectory.CreateServerDirectoryAsync("redis", ownedByPostgresUser: false, cancellationToken), cancellationToken);

    /// <summary>Starts redis-server with settings added to ours (a cluster node's), on a free loopback port.</summary>
    internal static async Task<RedisServerProcess> StartAsync(IReadOnlyList<string> extraArguments, CancellationToken cancellationToken) =>
        await StartAsync(await TestProcessDirectory.CreateServerDirectoryAsync("redis", ownedByPostgresUser: false, cancellationToken), extraArguments, cancellationToken);

    /// <summary>Starts Redis in a directory of the caller's choosing (the reaper tests use one whose owner is gone).</summary>
    internal static Task<RedisServerProcess> StartAsync(string serverDirectory, CancellationToken cancellationToken) =>
        StartAsync(serverDirectory, [], cancellationToken);

    private static async Task<RedisServerProcess> StartAsync(string serverDirectory, IReadOnlyList<string> extraArguments, CancellationToken cancellationToken)
    {
        var server = new RedisServerProcess(ServerBinaries.FindRedisServer(), serverDirectory, extraArguments);
        TestProcessDirectory.Register(server);
        try
        {
            await server.StartOnFreePortAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Shuts Redis down (SIGTERM, then SIGKILL if it lingers). A no-op when it is not running.</summary>
    public async Task StopAsync()
    {
        await gate.WaitAsync();
        try
        {
            await StopProcessAsync(UnixProcesses.SignalTerminate);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Kills Redis with SIGKILL, as a crash would. A no-op when it is not running.</summary>
    public async Task KillAsync()
    {
        await gate.WaitAsync();
        try
        {
            await StopProcessAsync(UnixProcesses.SignalKill);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Starts Redis again on the same port, with no data.</summary>
    /// <summary>Deletes the snapshot a SAVE left, so that the next start is empty again.</summary>
    public void ForgetSnapshot() => File.Delete(Path.Combine(directory, "dump.rdb"));

    public async Task StartAgainAsync()
    {
        await gate.WaitAsync();
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (process is not null)
            {
                throw new InvalidOperationException("Redis on port " + Configuration + " is still running: stop or kill it before starting it again.");
            }

            await LaunchAsync(Port, CancellationToken.None);
        }
        finally
        {
            gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await gate.WaitAsync();
        try
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            await StopProcessAsync(UnixProcesses.SignalKill);
            TestProcessDirectory.Unregister(this);
            DeleteDirectory(directory);
        }
        finally
        {
            gate.Release();
        }
    }

    void IOwnedServer.SignalStopAtExit() => Volatile.Read(ref process)?.Kill();

    void IOwnedServer.WaitForStopAtExit(DateTime deadlineUtc) =>
        Volatile.Read(ref process)?.WaitForExit(TimeSpan.FromTicks(Math.Max(0, (deadlineUtc - DateTime.UtcNow).Ticks)));

    /// <summary>Deletes a server directory unless it is gone already (the reaper may have been first).</summary>
    internal static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    private async Task StartOnFreePortAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await LaunchAsync(FreePorts.Pick(), cancellationToken);
                return;
            }
            catch (ServerStartException exception) when (attempt < PortAttemptCountMax && exception.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
                // Another process took the port between our check and Redis binding it: try another.
            }
        }
    }

    private async Task LaunchAsync(int port, CancellationToken cancellationToken)
    {
        Port = port;
        var started = LoggedProcess.Start(executable, Arguments(port), directory, LogPath);
        Volatile.Write(ref process, started);
        await File.WriteAllTextAsync(PidPath, started.ProcessId.ToString(CultureInfo.InvariantCulture), cancellationToken);
        try
        {
            await ReadinessProbes.WaitUntilReadyAsync(
                "redis-server on " + Configuration,
                started,
                LogPath,
                probeCancellation => ReadinessProbes.RedisAnswersPingAsync(Host, port, probeCancellation),
                StartTimeout,
                cancellationToken);
        }
        catch
        {
            await StopProcessAsync(UnixProcesses.SignalKill);
            throw;
        }
    }

    private IEnumerable<string> Arguments(int port) =>
    [
        "--port", port.ToString(CultureInfo.InvariantCulture),
        "--bind", Host,
        // Redis holds only hot state that is rebuilt from PostgreSQL: nothing is persisted.
        "--save", string.Empty,
        "--appendonly", "no",
        // Gateways of different tests share a server, each on a logical database of its own (GatewayInstance).
        "--databases", "64",
        // As scripts/local-stack.sh runs it: session hashes stay listpacks (docs/scaling.md, "What one node holds").
        "--hash-max-listpack-value", "512",
        "--dir", directory,
        // An empty log file name logs to standard output, which LoggedProcess copies to server.log.
        "--logfile", string.Empty,
        "--daemonize", "no",
        .. extraArguments,
    ];

    private async Task StopProcessAsync(int signal)
    {
        var running = Volatile.Read(ref process);
        if (running is null)
        {
            return;
        }

        if (!running.HasExited)
        {
            UnixProcesses.TrySignal(running.ProcessId, signal);
        }

        if (!await running.WaitForExitAsync(StopTimeout))
        {
            running.Kill();
            await running.WaitForExitAsync(StopTimeout);
        }

        if (Directory.Exists(directory))
        {
            File.Delete(PidPath);
        }

        running.Dispose();
        Volatile.Write(ref process, null);
    }
}
