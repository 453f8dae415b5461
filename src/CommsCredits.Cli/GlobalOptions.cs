namespace CommsCredits.Cli;

using System.CommandLine;

/// <summary>The options every command takes: where the gateway is, the admin key, the deadline per call.</summary>
public sealed class GlobalOptions
{
    public const string AddressVariable = "COMMSCREDITS_ADDRESS";
    public const string KeyVariable = "COMMSCREDITS_KEY";
    public const string DefaultAddress = "http://127.0.0.1:5080";
    public const int DefaultTimeoutSeconds = 30;
    public const int MaxTimeoutSeconds = 86_400;

    public Option<string?> Address { get; } = new("--address") { Description = $"The gateway's gRPC address (env {AddressVariable}; default {DefaultAddress}).", Recursive = true };

    public Option<string?> Key { get; } = new("--key") { Description = $"The admin API key (env {KeyVariable}, preferred: a command line is visible to other users).", Recursive = true };

    public Option<int> TimeoutSeconds { get; } = new("--timeout-seconds")
    {
        Description = $"The deadline of each call, 1 to {MaxTimeoutSeconds} seconds.", Recursive = true, DefaultValueFactory = _ => DefaultTimeoutSeconds,
    };

    public void AddTo(RootCommand root)
    {
        ArgumentNullException.ThrowIfNull(root);
        root.Options.Add(Address);
        root.Options.Add(Key);
        root.Options.Add(TimeoutSeconds);
    }
}
