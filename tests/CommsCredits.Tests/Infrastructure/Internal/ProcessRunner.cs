using System.Diagnostics;
using System.Text;

namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>Runs a short command to completion and fails with its output when it fails.</summary>
internal static class ProcessRunner
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs a command in a working directory (PostgreSQL tools run as the postgres user, who may not read ours).</summary>
    public static Task RunAsync(string fileName, IReadOnlyList<string> arguments, string workingDirectory, CancellationToken cancellationToken) =>
        RunForOutputAsync(fileName, arguments, workingDirectory, cancellationToken);

    /// <summary>Runs a command and returns what it wrote (standard output and error, as they came).</summary>
    public static async Task<string> RunForOutputAsync(string fileName, IReadOnlyList<string> arguments, string workingDirectory, CancellationToken cancellationToken)
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

        using var process = Process.Start(startInfo)!;
        process.StandardInput.Close();
        var output = new StringBuilder();
        var outputTask = CopyToAsync(process.StandardOutput, output);
        var errorTask = CopyToAsync(process.StandardError, output);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException exception)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException(Describe(fileName, arguments) + " did not finish in " + DefaultTimeout + " or was cancelled.", exception);
        }

        await Task.WhenAll(outputTask, errorTask);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(Describe(fileName, arguments) + " failed with exit code " + process.ExitCode + ":\n" + output);
        }

        return output.ToString();
    }

    private static async Task CopyToAsync(StreamReader reader, StringBuilder output)
    {
        var text = await reader.ReadToEndAsync();
        lock (output)
        {
            output.Append(text);
        }
    }

    private static string Describe(string fileName, IReadOnlyList<string> arguments) =>
        "`" + fileName + " " + string.Join(' ', arguments) + "`";
}
