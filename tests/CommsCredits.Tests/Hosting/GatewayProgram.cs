namespace CommsCredits.Tests.Hosting;

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

/// <summary>Runs the gateway program (from the tests' output directory) as a process of its own, as an operator would.</summary>
public static partial class GatewayProgram
{
    /// <summary>Runs it with <paramref name="arguments"/> and returns its exit code and what it printed; a run past a minute fails.</summary>
    public static Task<(int ExitCode, string Output, string Errors)> RunAsync(IEnumerable<string> arguments) => RunAsync(arguments, environment: null, workingDirectory: null);

    /// <summary>Runs it with extra environment variables and in a working directory of the test's choice.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(
        IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, string? workingDirectory)
    {
        using var process = Process.Start(StartInfo(arguments, environment, workingDirectory))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await errors);
    }

    /// <summary>Starts `serve` with <paramref name="arguments"/> (which should set Server:Endpoint to port 0) and waits until it listens.</summary>
    public static async Task<ServeProcess> StartServeAsync(IEnumerable<string> arguments)
    {
        var process = Process.Start(StartInfo(["serve", .. arguments], environment: null, workingDirectory: null))!;
        var serve = new ServeProcess(process);
        await serve.WaitUntilListeningAsync();
        return serve;
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, string? workingDirectory)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CommsCredits.Gateway.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Processes of parallel tests must not all take the default operations port (serve and worker open one).
        start.Environment["Operations__Endpoint"] = "http://127.0.0.1:0";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>(StringComparer.Ordinal))
        {
            start.Environment[name] = value;
        }

        return start;
    }

    [GeneratedRegex(@"Now listening on: (?<address>http://[0-9.]+:[0-9]+)", RegexOptions.None, matchTimeoutMilliseconds: 1_000)]
    private static partial Regex ListeningLine();

    /// <summary>A running `serve` process; every line it printed (both streams) is kept. Disposing stops it with SIGTERM.</summary>
    public sealed class ServeProcess(Process process) : IAsyncDisposable
    {
        private readonly ConcurrentQueue<string> lines = new();
        private readonly TaskCompletionSource<Uri> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Uri Address => listening.Task.Result;

        /// <summary>Everything printed so far, one line each.</summary>
        public IReadOnlyCollection<string> Lines => lines;

        public string Output => string.Join('\n', lines);

        internal async Task WaitUntilListeningAsync()
        {
            process.OutputDataReceived += (_, line) => Received(line.Data);
            process.ErrorDataReceived += (_, line) => Received(line.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var exited = process.WaitForExitAsync();
            var first = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
            if (first != listening.Task)
            {
                throw new InvalidOperationException($"the gateway did not start listening (exited: {process.HasExited}):\n{Output}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: false);
            }

            await process.WaitForExitAsync();
            process.Dispose();
        }

        private void Received(string? line)
        {
            if (line is null)
            {
                return;
            }

            lines.Enqueue(line);
            if (ListeningLine().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups["address"].Value));
            }
        }
    }
}
