namespace CommsCredits.Tests.Cli;

using CommsCredits.Cli;
using CommsCredits.Tests.Charging;

/// <summary>Runs the command line in-process against a gateway, capturing stdout and stderr.</summary>
internal static class CliRun
{
    public static Task<(int Exit, string Out, string Error)> RunAsync(GatewayInstance gateway, params string[] args) =>
        RunAsync(gateway.Address.ToString(), gateway.AdminKey, args);

    public static async Task<(int Exit, string Out, string Error)> RunAsync(string address, string key, params string[] args)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [GlobalOptions.AddressVariable] = address,
            [GlobalOptions.KeyVariable] = key,
        };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApplication.RunAsync(args, stdout, stderr, environment);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
