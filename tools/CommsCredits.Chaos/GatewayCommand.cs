namespace CommsCredits.Chaos;

using System.Diagnostics;

/// <summary>Runs one of the gateway's short commands (migrate, create-key, ...) as a process, for the chaos and bench tools.</summary>
public static class GatewayCommand
{
    /// <summary>The bound on one command's run.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs the command and returns its standard output; its standard error is appended to a log file in <paramref name="logDirectory"/>.</summary>
    public static async Task<string> RunAsync(string gatewayDll, string logDirectory, string[] arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add(gatewayDll);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new ChaosSetupException("could not start dotnet");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new ChaosSetupException($"gateway {arguments[0]} failed with exit code {process.ExitCode}: {await errors}");
        }

        await File.AppendAllTextAsync(Path.Combine(logDirectory, arguments[0] + "-" + Guid.NewGuid().ToString("N")[..8] + ".log"), await errors, cancellationToken);
        return await output;
    }
}
