using System.Globalization;
using CommsCredits.Tests.Infrastructure.Internal;
using Npgsql;

namespace CommsCredits.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of its own, for tests that stop, restart or stall the database. It listens on
/// 127.0.0.1 on a free port, keeps its Unix socket in its own directory, trusts every loopback
/// connection, and trades durability for speed (fsync, synchronous_commit and full_page_writes off):
/// data survives a stop and start, not a machine crash.
/// </summary>
public sealed class PostgresServerProcess : IAsyncDisposable, IOwnedServer
{
    private const string Host = "127.0.0.1";
    private const int PortAttemptCountMax = 5;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);

    private readonly PostgresInstallation installation;
    private readonly string directory;
    private readonly SemaphoreSlim gate = new(1, 1);
    private LoggedProcess? process;
    private int postmasterProcessId;
    private bool paused;
    private bool disposed;

    private PostgresServerProcess(PostgresInstallation installation, string directory)
    {
        this.installation = installation;
        this.directory = directory;
    }

    public int Port { get; private set; }

    /// <summary>An Npgsql connection string to the 'postgres' database, as the superuser 'postgres'.</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = "postgres",
        Database = "postgres",
    }.ConnectionString;

    internal int PostmasterProcessId => postmasterProcessId;

    private string DataDirectory => Path.Combine(directory, "data");

    private string LogPath => Path.Combine(directory, "server.log");

    /// <summary>Creates a fresh data directory, starts PostgreSQL on a free port and returns once it answers a query.</summary>
    public static async Task<PostgresServerProcess> StartAsync(CancellationToken cancellationToken = default) =>
        await StartAsync(
            await TestProcessDirectory.CreateServerDirectoryAsync("postgres", PostgresInstallation.Current.RunsAsPostgresUser, cancellationToken),
            cancellationToken);

    /// <summary>Starts PostgreSQL in an empty directory of the caller's choosing (owned by postgres when running as root).</summary>
    internal static async Task<PostgresServerProcess> StartAsync(string serverDirectory, CancellationToken cancellationToken)
    {
        var found = PostgresInstallation.Current;
        var server = new PostgresServerProcess(found, serverDirectory);
        TestProcessDirectory.Register(server);
        try
        {
            await found.CreateDataDirectoryAsync(server.DataDirectory, cancellationToken);
            await server.AppendSettingsAsync(cancellationToken);
            await server.StartOnFreePortAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Fast shutdown (SIGINT: sessions are ended, data is kept). A no-op when it is not running.</summary>
    public Task StopAsync() => WithGateAsync(() => StopPostmasterAsync(UnixProcesses.SignalInterrupt));

    /// <summary>Starts PostgreSQL again on the same port, with the data it had.</summary>
    public Task StartAgainAsync() => WithGateAsync(async () =>
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (process is not null)
        {
            throw new InvalidOperationException("PostgreSQL on port " + Port.ToString(CultureInfo.InvariantCulture) + " is still running: stop it before starting it again.");
        }

        await LaunchAsync(Port, CancellationToken.None);
    });

    /// <summary>
    /// Stalls the database: SIGSTOP to the postmaster and then to each of its processes. Connections are
    /// still accepted by the kernel, but nothing answers until <see cref="ResumeAsync"/>.
    /// </summary>
    public Task PauseAsync() => WithGateAsync(() =>
    {
        if (process is null)
        {
            throw new InvalidOperationException("PostgreSQL is not running: start it before pausing it.");
        }

        if (!paused)
        {
            // The postmaster first, so that it starts no new process while its children are being stopped.
            UnixProcesses.TrySignal(postmasterProcessId, UnixProcesses.SignalStop);
            foreach (var child in UnixProcesses.FindChildren(postmasterProcessId))
            {
                UnixProcesses.TrySignal(child, UnixProcesses.SignalStop);
            }

            paused = true;
        }

        return Task.CompletedTask;
    });

    /// <summary>Undoes <see cref="PauseAsync"/> (SIGCONT). A no-op when it is not paused.</summary>
    public Task ResumeAsync() => WithGateAsync(() =>
    {
        ResumeProcesses();
        return Task.CompletedTask;
    });

    public async ValueTask DisposeAsync()
    {
        await WithGateAsync(async () =>
        {
            if (disposed)
            {
                return;
            }

            disposed = true;

            // The data is thrown away: immediate shutdown (SIGQUIT) is enough.
            await StopPostmasterAsync(UnixProcesses.SignalQuit);
            TestProcessDirectory.Unregister(this);
            RedisServerProcess.DeleteDirectory(directory);
        });
    }

    void IOwnedServer.SignalStopAtExit()
    {
        var running = Volatile.Read(ref process);
        if (running is not null)
        {
            ResumeProcesses();
            UnixProcesses.TrySignal(PostmasterOrChild(running), UnixProcesses.SignalQuit);
        }
    }

    void IOwnedServer.WaitForStopAtExit(DateTime deadlineUtc) =>
        Volatile.Read(ref process)?.WaitForExit(TimeSpan.FromTicks(Math.Max(0, (deadlineUtc - DateTime.UtcNow).Ticks)));

    private async Task WithGateAsync(Func<Task> action)
    {
        await gate.WaitAsync();
        try
        {
            await action();
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task AppendSettingsAsync(CancellationToken cancellationToken)
    {
        // Later lines win over initdb's defaults above them. Appending as root keeps the file the postgres user's.
        string[] settings =
        [
            "# CommsCredits tests: loopback only, socket in the server's own directory, speed over durability.",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = '" + directory + "'",
            "max_connections = 200",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "timezone = 'UTC'",
        ];
        await File.AppendAllLinesAsync(Path.Combine(DataDirectory, "postgresql.conf"), settings, cancellationToken);
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
                // Another process took the port between our check and PostgreSQL binding it: try another.
            }
        }
    }

    private async Task LaunchAsync(int port, CancellationToken cancellationToken)
    {
        Port = port;
        var (fileName, arguments) = installation.Command("postgres", ["-D", DataDirectory, "-p", port.ToString(CultureInfo.InvariantCulture)]);
        var started = LoggedProcess.Start(fileName, arguments, directory, LogPath);
        Volatile.Write(ref process, started);
        try
        {
            await ReadinessProbes.WaitUntilReadyAsync(
                "PostgreSQL on " + Host + ":" + port.ToString(CultureInfo.InvariantCulture),
                started,
                LogPath,
                probeCancellation => ReadinessProbes.PostgresAnswersQueryAsync(ConnectionString, probeCancellation),
                StartTimeout,
                cancellationToken);
            postmasterProcessId = await ReadPostmasterProcessIdAsync(cancellationToken)
                ?? throw new InvalidOperationException("PostgreSQL answers but " + DataDirectory + "/postmaster.pid is missing.");
        }
        catch
        {
            await StopPostmasterAsync(UnixProcesses.SignalQuit);
            throw;
        }
    }

    private async Task<int?> ReadPostmasterProcessIdAsync(CancellationToken cancellationToken)
    {
        var pidPath = Path.Combine(DataDirectory, "postmaster.pid");
        if (!File.Exists(pidPath))
        {
            return null;
        }

        var lines = await File.ReadAllLinesAsync(pidPath, cancellationToken);
        return lines.Length > 0 && int.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out var processId) ? processId : null;
    }

    private async Task StopPostmasterAsync(int signal)
    {
        var running = Volatile.Read(ref process);
        if (running is null)
        {
            return;
        }

        ResumeProcesses();
        var target = PostmasterOrChild(running);
        UnixProcesses.TrySignal(target, signal);
        if (!await running.WaitForExitAsync(StopTimeout))
        {
            // A shutdown that hangs is a bug to see in the log, but it must not leave processes behind.
            foreach (var child in UnixProcesses.FindChildren(target))
            {
                UnixProcesses.TrySignal(child, UnixProcesses.SignalKill);
            }

            UnixProcesses.TrySignal(target, UnixProcesses.SignalKill);
            running.Kill();
            await running.WaitForExitAsync(StopTimeout);
        }

        running.Dispose();
        Volatile.Write(ref process, null);
        postmasterProcessId = 0;
    }

    // Before the postmaster is known (a start that failed early) the direct child is signalled instead:
    // postgres itself, or runuser, which passes a termination on to it.
    private int PostmasterOrChild(LoggedProcess running) => postmasterProcessId > 0 ? postmasterProcessId : running.ProcessId;

    private void ResumeProcesses()
    {
        if (!paused)
        {
            return;
        }

        foreach (var child in UnixProcesses.FindChildren(postmasterProcessId))
        {
            UnixProcesses.TrySignal(child, UnixProcesses.SignalContinue);
        }

        UnixProcesses.TrySignal(postmasterProcessId, UnixProcesses.SignalContinue);

        // runuser stops itself when the postmaster, its child, is stopped, and would not reap it on exit until continued.
        var running = Volatile.Read(ref process);
        if (running is not null && running.ProcessId != postmasterProcessId)
        {
            UnixProcesses.TrySignal(running.ProcessId, UnixProcesses.SignalContinue);
        }

        paused = false;
    }
}
