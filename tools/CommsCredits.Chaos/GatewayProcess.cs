namespace CommsCredits.Chaos;

using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using CommsCredits.Client;
using CommsCredits.Grpc.Client;
using CommsCredits.Tests.Infrastructure.Internal;

/// <summary>
/// One gateway as a separate process (`dotnet CommsCredits.Gateway.dll serve`), so that it can be killed with SIGKILL
/// or stopped with SIGTERM like in production. Its output is appended to a log file in the chaos directory.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The first line of such an error in the simple console format (--Logging:Console:FormatterName=simple), after the
    /// timestamp that Logging:Console:FormatterOptions:TimestampFormat puts in front of it.
    /// </summary>
    private const string HandlerFailurePrefix = "fail: CommsCredits.Grpc.Server[";

    /// <summary>The fields of such an error in the JSON console format, the gateway's default: one entry per line.</summary>
    private const string JsonErrorLevel = "\"LogLevel\":\"Error\"";
    private const string JsonServerCategory = "\"Category\":\"CommsCredits.Grpc.Server\"";

    private readonly string dotnet;
    private readonly string gatewayDll;
    private readonly IReadOnlyList<string> settings;
    private readonly string logPath;
    private readonly ResponseWitness witness;
    private Process? process;
    private int handlerFailures;

    public GatewayProcess(string name, string gatewayDll, int port, IReadOnlyList<string> settings, string directory, string networkElementKey)
    {
        Name = name;
        Port = port;
        dotnet = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.Ordinal) ? path : "dotnet";
        this.gatewayDll = gatewayDll;
        this.settings = settings;
        logPath = Path.Combine(directory, name + ".log");
        witness = new ResponseWitness();
        Channel = GrpcChannel.ForAddress(new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")), new GrpcChannelOptions { Handler = witness });
        Charging = new ChargingClient(Channel, networkElementKey);
    }

    public string Name { get; }

    public int Port { get; }

    public GrpcChannel Channel { get; }

    public ChargingClient Charging { get; }

    /// <summary>The current life of the process: requests note which life they were sent to, to judge a SIGTERM's drain.</summary>
    public GatewayLife Life { get; private set; } = new();

    public bool IsRunning => process is { HasExited: false };

    /// <summary>The process id of the current life; null when it is not running.</summary>
    public int? ProcessId => process is { HasExited: false } running ? running.Id : null;

    /// <summary>How many gRPC handler failures (errors of the transport's server, in any life) it logged since the last call.</summary>
    public int TakeHandlerFailures() => Interlocked.Exchange(ref handlerFailures, 0);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(dotnet)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add(gatewayDll);
        startInfo.ArgumentList.Add("serve");
        foreach (var setting in settings)
        {
            startInfo.ArgumentList.Add(setting);
        }

        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var started = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        started.OutputDataReceived += (_, line) => Append(log, line.Data);
        started.ErrorDataReceived += (_, line) => Append(log, line.Data);
        started.Exited += (_, _) => started.WaitForExit();
        started.Start();
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        process = started;
        Life = new GatewayLife();
        await WaitUntilListeningAsync(started, cancellationToken);
    }

    /// <summary>SIGKILL, as a crash would: nothing is drained.</summary>
    public async Task KillAsync()
    {
        var running = process ?? throw new InvalidOperationException(Name + " is not running");
        UnixProcesses.TrySignal(running.Id, UnixProcesses.SignalKill);
        await running.WaitForExitAsync();
        process = null;
    }

    /// <summary>SIGTERM, then waits up to <paramref name="bound"/> for the exit. Returns the exit code and the time taken (null: still running, then killed).</summary>
    public async Task<(int? ExitCode, TimeSpan Elapsed)> TerminateAsync(TimeSpan bound)
    {
        var running = process ?? throw new InvalidOperationException(Name + " is not running");
        var stopwatch = Stopwatch.StartNew();
        Life.MarkTerminating();
        UnixProcesses.TrySignal(running.Id, UnixProcesses.SignalTerminate);
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await running.WaitForExitAsync(timeout.Token);
            process = null;
            return (running.ExitCode, stopwatch.Elapsed);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            return (null, stopwatch.Elapsed);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (process is { HasExited: false } running)
        {
            UnixProcesses.TrySignal(running.Id, UnixProcesses.SignalKill);
            await running.WaitForExitAsync();
        }

        Channel.Dispose();
        witness.Dispose();
    }

    private void Append(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        // An error of the category the transport's server logs under: the simple format's first line of it, or a JSON entry.
        if ((!line.StartsWith(' ') && line.Contains(HandlerFailurePrefix, StringComparison.Ordinal))
            || (line.StartsWith('{') && line.Contains(JsonErrorLevel, StringComparison.Ordinal) && line.Contains(JsonServerCategory, StringComparison.Ordinal)))
        {
            Interlocked.Increment(ref handlerFailures);
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    private async Task WaitUntilListeningAsync(Process started, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (started.HasExited)
            {
                throw new ChaosSetupException($"gateway {Name} exited with code {started.ExitCode} while starting; see {logPath}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken);
            }
        }

        throw new ChaosSetupException($"gateway {Name} did not listen on port {Port} within {StartTimeout}; see {logPath}");
    }
}

/// <summary>
/// One life of a gateway process. Requests sent to it before a SIGTERM and finished after it are the in-flight
/// requests of that SIGTERM: each was answered, refused with a status, or broken off without an answer.
/// </summary>
public sealed class GatewayLife
{
    private long terminatingSinceTicks = long.MaxValue;
    private long answered;
    private long refused;
    private long broken;

    public long Answered => Interlocked.Read(ref answered);

    public long Refused => Interlocked.Read(ref refused);

    public long Broken => Interlocked.Read(ref broken);

    /// <summary>What the in-flight requests that got no answer were told (status and detail), with how many were told it.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, int> Failures { get; } = new(StringComparer.Ordinal);

    public void MarkTerminating() => Interlocked.Exchange(ref terminatingSinceTicks, Stopwatch.GetTimestamp());

    /// <summary>Notes how a request sent at <paramref name="sentTimestamp"/> ended, if it was in flight when the SIGTERM came.</summary>
    public void RequestEnded(long sentTimestamp, RequestEnd end, string? failure = null)
    {
        var terminatingSince = Interlocked.Read(ref terminatingSinceTicks);
        if (sentTimestamp >= terminatingSince || Stopwatch.GetTimestamp() < terminatingSince)
        {
            // Sent after the SIGTERM (a new request to a gateway that is going), or over before it.
            return;
        }

        if (failure is not null && Failures.Count < 10)
        {
            Failures.AddOrUpdate(failure, 1, (_, count) => count + 1);
        }

        _ = end switch
        {
            RequestEnd.Answered => Interlocked.Increment(ref answered),
            RequestEnd.Refused => Interlocked.Increment(ref refused),
            _ => Interlocked.Increment(ref broken),
        };
    }
}

public enum RequestEnd
{
    /// <summary>An answer message (any result code).</summary>
    Answered,

    /// <summary>A gRPC status from the server (UNAVAILABLE: nothing was acknowledged).</summary>
    Refused,

    /// <summary>No answer: the connection broke or the client's deadline passed.</summary>
    Broken,
}
