namespace CommsCredits.Tests.Hosting;

using System.Diagnostics;

/// <summary>Runs the gateway program (from the tests' output directory) as a process of its own, as an operator would.</summary>
public static class GatewayProgram
{
    /// <summary>Runs it with <paramref name="arguments"/> and returns its exit code and what it printed; a run past a minute fails.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CommsCredits.Gateway.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await errors);
    }
}
