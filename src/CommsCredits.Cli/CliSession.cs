namespace CommsCredits.Cli;

using CommsCredits.Client;
using CommsCredits.Grpc.Client;
using Spectre.Console;

/// <summary>One command's connection to the gateway: the typed clients, the deadline per call, the console.</summary>
public sealed class CliSession : IDisposable
{
    // Wide enough that tables of ids and timestamps are not wrapped when stdout is a file or a pipe.
    private const int ConsoleWidthWhenRedirected = 200;

    private readonly TimeSpan timeout;

    public CliSession(GrpcChannel channel, string key, TimeSpan timeout, TextWriter stdout)
    {
        ArgumentNullException.ThrowIfNull(channel);
        Channel = channel;
        Key = key;
        this.timeout = timeout;
        Output = stdout;
        Accounts = new AccountsClient(channel, key);
        Directory = new DirectoryClient(channel, key);
        Reports = new ReportsClient(channel, key);
        var interactive = ReferenceEquals(stdout, System.Console.Out) && !System.Console.IsOutputRedirected;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!interactive)
        {
            Console.Profile.Width = ConsoleWidthWhenRedirected;
        }
    }

    public GrpcChannel Channel { get; }

    /// <summary>The admin key, for clients the CLI builds itself. Never printed.</summary>
    public string Key { get; }

    public TextWriter Output { get; }

    public IAnsiConsole Console { get; }

    public AccountsClient Accounts { get; }

    public DirectoryClient Directory { get; }

    public ReportsClient Reports { get; }

    /// <summary>Options for one call: the deadline from --timeout-seconds, counted from now.</summary>
    public CallOptions Call(CancellationToken cancellationToken) => new(Deadline: DateTime.UtcNow + timeout, CancellationToken: cancellationToken);

    /// <summary>Options for a stream, whose deadline is its own (<paramref name="streamTimeout"/>).</summary>
    public static CallOptions Stream(TimeSpan streamTimeout, CancellationToken cancellationToken) => new(Deadline: DateTime.UtcNow + streamTimeout, CancellationToken: cancellationToken);

    public void Dispose() => Channel.Dispose();
}
