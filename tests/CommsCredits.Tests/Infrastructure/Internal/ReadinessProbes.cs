using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>Asks a server whether it really serves requests (a listening socket alone is not enough).</summary>
internal static class ReadinessProbes
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(25);

    /// <summary>Sends PING on a fresh connection; true on +PONG.</summary>
    public static async Task<bool> RedisAnswersPingAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(ProbeTimeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(host, port, timeoutSource.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeoutSource.Token);
            var reply = new byte[64];
            var length = await stream.ReadAsync(reply, timeoutSource.Token);
            return Encoding.ASCII.GetString(reply, 0, length).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception exception) when (exception is SocketException or IOException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>Opens a connection outside any pool and runs SELECT 1.</summary>
    public static async Task<bool> PostgresAnswersQueryAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            Timeout = (int)ProbeTimeout.TotalSeconds,
            CommandTimeout = (int)ProbeTimeout.TotalSeconds,
        };
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            return await command.ExecuteScalarAsync(cancellationToken) is 1;
        }
        catch (Exception exception) when (exception is NpgsqlException or SocketException or IOException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>
    /// Polls until the probe succeeds. Fails at once when the server process has exited, and after the
    /// timeout otherwise, with a message that names the server and quotes its last output.
    /// </summary>
    public static async Task WaitUntilReadyAsync(
        string serverName,
        LoggedProcess process,
        string logPath,
        Func<CancellationToken, Task<bool>> probe,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await probe(cancellationToken))
        {
            if (process.HasExited)
            {
                // Waiting for the exit again also waits until its output has reached the log.
                await process.WaitForExitAsync(ProbeTimeout);
                throw new ServerStartException(serverName + " exited while starting. Its last output (" + logPath + "):\n" + process.RecentOutput);
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new ServerStartException(serverName + " did not answer within " + timeout + ". Its last output (" + logPath + "):\n" + process.RecentOutput);
            }

            await Task.Delay(RetryDelay, cancellationToken);
        }
    }

    /// <summary>Polls a server that someone else runs until it answers; fails after the timeout with the description.</summary>
    public static async Task WaitUntilReachableAsync(
        string description,
        Func<CancellationToken, Task<bool>> probe,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await probe(cancellationToken))
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new ServerStartException(description + " did not answer within " + timeout + ".");
            }

            await Task.Delay(RetryDelay, cancellationToken);
        }
    }
}
