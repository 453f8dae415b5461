namespace CommsCredits.Cli;

using System.CommandLine;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;

/// <summary>
/// Runs a command's body with a <see cref="CliSession"/> and turns its failures into one line on stderr and an exit
/// code: a gRPC error is "commscredits: STATUS: message" (exit 1), a usage error exit 2. No stack traces.
/// </summary>
public sealed class CommandRunner(GlobalOptions globals, IReadOnlyDictionary<string, string?> environment, TextWriter stdout, TextWriter stderr)
{
    public void SetAction(Command command, Func<ParseResult, CliSession, CancellationToken, Task> body)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.SetAction((parsed, cancellationToken) => RunAsync(parsed, body, cancellationToken));
    }

    private async Task<int> RunAsync(ParseResult parsed, Func<ParseResult, CliSession, CancellationToken, Task> body, CancellationToken cancellationToken)
    {
        try
        {
            using var session = Open(parsed);
            await body(parsed, session, cancellationToken).ConfigureAwait(false);
            return CliApplication.ExitOk;
        }
        catch (UsageException exception)
        {
            await stderr.WriteLineAsync("commscredits: " + exception.Message).ConfigureAwait(false);
            return CliApplication.ExitUsage;
        }
        catch (RpcException exception)
        {
            await stderr.WriteLineAsync($"commscredits: {CliApplication.StatusName(exception.StatusCode)}: {OneLine(exception.Status.Detail)}").ConfigureAwait(false);
            return CliApplication.ExitFailed;
        }
        catch (IOException exception)
        {
            await stderr.WriteLineAsync("commscredits: " + OneLine(exception.Message)).ConfigureAwait(false);
            return CliApplication.ExitFailed;
        }
        catch (UnauthorizedAccessException exception)
        {
            await stderr.WriteLineAsync("commscredits: " + OneLine(exception.Message)).ConfigureAwait(false);
            return CliApplication.ExitFailed;
        }
    }

    private CliSession Open(ParseResult parsed)
    {
        var address = parsed.GetValue(globals.Address) ?? Variable(GlobalOptions.AddressVariable) ?? GlobalOptions.DefaultAddress;
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (!string.Equals(uri.Scheme, Uri.UriSchemeHttp, StringComparison.Ordinal) && !string.Equals(uri.Scheme, Uri.UriSchemeHttps, StringComparison.Ordinal)))
        {
            throw new UsageException($"--address '{address}' is not an http:// or https:// address");
        }

        var key = parsed.GetValue(globals.Key) ?? Variable(GlobalOptions.KeyVariable);
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new UsageException($"no admin key: set {GlobalOptions.KeyVariable} or pass --key");
        }

        if (key.Any(character => character is <= ' ' or > '~'))
        {
            throw new UsageException("the admin key must be printable ASCII without spaces");
        }

        var timeoutSeconds = parsed.GetValue(globals.TimeoutSeconds);
        if (timeoutSeconds is < 1 or > GlobalOptions.MaxTimeoutSeconds)
        {
            throw new UsageException($"--timeout-seconds must be 1 to {GlobalOptions.MaxTimeoutSeconds}");
        }

        return new CliSession(GrpcChannel.ForAddress(uri), key, TimeSpan.FromSeconds(timeoutSeconds), stdout);
    }

    private string? Variable(string name) => environment.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
