namespace CommsCredits.Cli;

using System.CommandLine;
using CommsCredits.Cli.Commands;
using CommsCredits.Grpc.Protocol;

/// <summary>
/// The commscredits command line, runnable in-process: parses <c>args</c>, runs the command against the admin API and
/// returns the exit code (0 done, 1 the server or the connection said no, 2 a usage error). Errors are one line on
/// stderr; the admin key is never printed.
/// </summary>
public static class CliApplication
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, IReadOnlyDictionary<string, string?> environment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(environment);
        var globals = new GlobalOptions();
        var root = new RootCommand("commscredits: the CommsCredits admin API from a shell (docs/cli.md).");
        globals.AddTo(root);
        var runner = new CommandRunner(globals, environment, stdout, stderr);
        AccountCommands.AddTo(root, runner);
        DirectoryCommands.AddTo(root, runner);
        UsageCommands.AddTo(root, runner);

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await stderr.WriteLineAsync("commscredits: " + error.Message).ConfigureAwait(false);
            }

            await stderr.WriteLineAsync("commscredits: see 'commscredits --help'").ConfigureAwait(false);
            return ExitUsage;
        }

        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        return await parsed.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A gRPC status code as the gRPC specification spells it: "UNAUTHENTICATED", "INVALID_ARGUMENT".</summary>
    public static string StatusName(StatusCode code)
    {
        var name = code.ToString();
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (var index = 0; index < name.Length; index++)
        {
            if (index > 0 && char.IsUpper(name[index]))
            {
                text.Append('_');
            }

            text.Append(char.ToUpperInvariant(name[index]));
        }

        return code == StatusCode.OK ? "OK" : text.ToString();
    }
}
