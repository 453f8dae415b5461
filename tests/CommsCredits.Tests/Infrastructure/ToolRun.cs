namespace CommsCredits.Tests.Infrastructure;

using System.Diagnostics;
using System.Text;
using Shouldly;

/// <summary>Runs one of the tools in tools/ (chaos, bench) as a process of its own, as `make` does, with settings in its environment.</summary>
public static class ToolRun
{
    /// <summary>The test collection of the tool runs: each takes the machine's two cores, so they run alone, after the parallel tests.</summary>
    public const string CollectionName = "ToolRuns";

    /// <summary>The tool's exit code and its standard output followed by its standard error; a run past <paramref name="timeout"/> is killed and fails.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string toolName, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        // The test runs from tests/CommsCredits.Tests/bin/<configuration>/net10.0/; the tool is built by the same build.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent!.Name;
        var root = output.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var tool = Path.Combine(root, "tools", toolName, "bin", configuration, "net10.0", toolName + ".dll");
        File.Exists(tool).ShouldBeTrue($"the tool is not built at {tool}");

        var startInfo = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add(tool);
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        using var process = Process.Start(startInfo)!;
        process.StandardInput.Close();
        var text = new StringBuilder();
        var standardOutput = process.StandardOutput.ReadToEndAsync();
        var standardError = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException exception)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{toolName} did not end within {timeout}:\n{await standardOutput}\n{await standardError}", exception);
        }

        text.Append(await standardOutput).Append(await standardError);
        return (process.ExitCode, text.ToString());
    }
}

/// <summary>See <see cref="ToolRun.CollectionName"/>.</summary>
[Xunit.CollectionDefinition(ToolRun.CollectionName, DisableParallelization = true)]
public sealed class ToolRunCollection
{
}
