using System.Collections;
using CommsCredits.Cli;

var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
{
    environment[(string)variable.Key] = (string?)variable.Value;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, press) =>
{
    press.Cancel = true;
    cancellation.Cancel();
};
return await CliApplication.RunAsync(args, Console.Out, Console.Error, environment, cancellation.Token).ConfigureAwait(false);
