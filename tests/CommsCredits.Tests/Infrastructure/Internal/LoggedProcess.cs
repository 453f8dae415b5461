using System.Diagnostics;
using System.Text;

namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>
/// A child process whose standard output and error are appended to a log file. Its standard input is a
/// pipe that nothing writes to: a child must never inherit the test host's own streams, or the test
/// runner would wait for them to close after the test host ends.
/// </summary>
internal sealed class LoggedProcess : IDisposable
{
    // Bounds what a failure message quotes from a server's output.
    private const int LogTailLineCount = 30;

    private readonly Process process;
    private readonly StreamWriter log;
    private readonly Lock logLock = new();
    private readonly Queue<string> recentLines = new();
    private bool logClosed;

    private LoggedProcess(Process process, StreamWriter log)
    {
        this.process = process;
        this.log = log;
    }

    public int ProcessId => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>The last lines this process wrote, for error messages.</summary>
    public string RecentOutput
    {
        get
        {
            lock (logLock)
            {
                return string.Join('\n', recentLines);
            }
        }
    }

    public static LoggedProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory, string logPath)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var logWriter = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), Encoding.UTF8) { AutoFlush = true };
        var child = new Process { StartInfo = startInfo };
        var started = new LoggedProcess(child, logWriter);
        child.OutputDataReceived += (_, line) => started.AppendToLog(line.Data);
        child.ErrorDataReceived += (_, line) => started.AppendToLog(line.Data);
        try
        {
            child.Start();
        }
        catch
        {
            started.Dispose();
            throw;
        }

        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return started;
    }

    /// <summary>Waits for the process to exit; returns false on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var timeoutSource = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public bool WaitForExit(TimeSpan timeout) => process.WaitForExit(timeout);

    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill();
        }
    }

    public void Dispose()
    {
        process.Dispose();
        lock (logLock)
        {
            logClosed = true;
            log.Dispose();
        }
    }

    private void AppendToLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (logLock)
        {
            if (recentLines.Count == LogTailLineCount)
            {
                recentLines.Dequeue();
            }

            recentLines.Enqueue(line);

            // The log is closed once the process is disposed; output that arrives later is dropped.
            if (!logClosed)
            {
                log.WriteLine(line);
            }
        }
    }
}
