namespace CommsCredits.Tests.Notifications;

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// A real SMTP server on a loopback port, speaking just enough of RFC 5321 for the framework's SmtpClient: 220
/// greeting, EHLO/HELO, MAIL FROM, RCPT TO, DATA ... ".", RSET, NOOP, QUIT. It records each message it accepts (250)
/// and can refuse a recipient's next messages with 451 after their data, to test retries.
/// </summary>
public sealed class SmtpListener : IAsyncDisposable
{
    private const int MaxLineLength = 10_000;
    private const int MaxMessageBytes = 1 << 20;
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentQueue<ReceivedMail> messages = new();
    private readonly ConcurrentDictionary<string, int> failuresLeft = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> dataAttempts = new(StringComparer.Ordinal);
    private Task? accepting;

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public static SmtpListener Start()
    {
        var smtp = new SmtpListener();
        smtp.listener.Start();
        smtp.accepting = smtp.AcceptAsync();
        return smtp;
    }

    /// <summary>Messages accepted for the recipient, in order.</summary>
    public IReadOnlyList<ReceivedMail> For(string recipient) =>
        [.. messages.Where(message => message.Recipients.Contains(recipient, StringComparer.OrdinalIgnoreCase))];

    /// <summary>Messages whose data reached the end (accepted or refused) for the recipient.</summary>
    public int AttemptsFor(string recipient) => dataAttempts.GetValueOrDefault(recipient);

    /// <summary>The recipient's next <paramref name="count"/> messages are refused with 451 after their data.</summary>
    public void FailNext(string recipient, int count) => failuresLeft[recipient] = count;

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        if (accepting is not null)
        {
            await accepting;
        }

        stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var connection = client;
        var stream = client.GetStream();
        // Latin-1 keeps every byte as one character, so the data is recorded exactly as sent.
        using var reader = new StreamReader(stream, Encoding.Latin1);
        await using var writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n", AutoFlush = true };
        var session = new Session();
        try
        {
            await writer.WriteLineAsync("220 localhost test SMTP");
            while (await reader.ReadLineAsync(stopping.Token) is { } line && line.Length <= MaxLineLength)
            {
                if (!await AnswerAsync(line, reader, writer, session))
                {
                    return;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away, or the listener is stopping.
        }
    }

    private async Task<bool> AnswerAsync(string line, StreamReader reader, StreamWriter writer, Session session)
    {
        var verb = line.Split(' ', 2)[0].ToUpperInvariant();
        switch (verb)
        {
            case "EHLO" or "HELO":
                await writer.WriteLineAsync("250 localhost");
                return true;
            case "MAIL":
                session.From = Address(line);
                session.Recipients.Clear();
                await writer.WriteLineAsync("250 2.1.0 OK");
                return true;
            case "RCPT":
                session.Recipients.Add(Address(line));
                await writer.WriteLineAsync("250 2.1.5 OK");
                return true;
            case "DATA":
                await writer.WriteLineAsync("354 end with <CRLF>.<CRLF>");
                var data = await ReadDataAsync(reader);
                await writer.WriteLineAsync(Accept(session, data) ? "250 2.0.0 accepted" : "451 4.3.0 try again later");
                return true;
            case "RSET" or "NOOP":
                await writer.WriteLineAsync("250 OK");
                return true;
            case "QUIT":
                await writer.WriteLineAsync("221 bye");
                return false;
            default:
                await writer.WriteLineAsync("502 5.5.1 not implemented");
                return true;
        }
    }

    private bool Accept(Session session, string data)
    {
        var refuse = false;
        foreach (var recipient in session.Recipients)
        {
            dataAttempts.AddOrUpdate(recipient, 1, (_, count) => count + 1);
            if (failuresLeft.TryGetValue(recipient, out var left) && left > 0)
            {
                failuresLeft[recipient] = left - 1;
                refuse = true;
            }
        }

        if (!refuse)
        {
            messages.Enqueue(new ReceivedMail(session.From, [.. session.Recipients], data));
        }

        return !refuse;
    }

    private static async Task<string> ReadDataAsync(StreamReader reader)
    {
        var data = new StringBuilder();
        while (await reader.ReadLineAsync() is { } line && !string.Equals(line, ".", StringComparison.Ordinal))
        {
            // Dot-stuffing (RFC 5321 4.5.2): a leading dot was doubled by the sender.
            data.Append(line.StartsWith("..", StringComparison.Ordinal) ? line[1..] : line).Append("\r\n");
            if (data.Length > MaxMessageBytes)
            {
                throw new IOException("message too large for the test SMTP listener");
            }
        }

        return data.ToString();
    }

    private static string Address(string line)
    {
        var start = line.IndexOf('<', StringComparison.Ordinal);
        var end = line.IndexOf('>', StringComparison.Ordinal);
        return start >= 0 && end > start ? line[(start + 1)..end] : string.Empty;
    }

    private sealed class Session
    {
        public string From { get; set; } = string.Empty;

        public List<string> Recipients { get; } = [];
    }
}

/// <summary>One accepted message: envelope and raw data (headers, blank line, body as sent).</summary>
public sealed record ReceivedMail(string From, IReadOnlyList<string> Recipients, string Data)
{
    /// <summary>The value of the first header of this name (unfolded), or null.</summary>
    public string? Header(string name)
    {
        var headers = Data[..Math.Max(0, Data.IndexOf("\r\n\r\n", StringComparison.Ordinal))].Replace("\r\n ", " ", StringComparison.Ordinal).Replace("\r\n\t", " ", StringComparison.Ordinal);
        foreach (var line in headers.Split("\r\n"))
        {
            if (line.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
            {
                return line[(name.Length + 1)..].Trim();
            }
        }

        return null;
    }

    /// <summary>The body, its quoted-printable or base64 transfer encoding undone, as UTF-8 text.</summary>
    public string Body
    {
        get
        {
            var raw = Data[(Data.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
            var encoding = Header("Content-Transfer-Encoding") ?? "7bit";
            if (encoding.Equals("base64", StringComparison.OrdinalIgnoreCase))
            {
                return Encoding.UTF8.GetString(Convert.FromBase64String(raw.Replace("\r\n", string.Empty, StringComparison.Ordinal)));
            }

            if (encoding.Equals("quoted-printable", StringComparison.OrdinalIgnoreCase))
            {
                return QuotedPrintable(raw);
            }

            return raw;
        }
    }

    private static string QuotedPrintable(string raw)
    {
        var text = raw.Replace("=\r\n", string.Empty, StringComparison.Ordinal);
        var bytes = new List<byte>(text.Length);
        for (var index = 0; index < text.Length; index++)
        {
            if (text[index] == '=' && index + 2 < text.Length)
            {
                bytes.Add(Convert.ToByte(text.Substring(index + 1, 2), 16));
                index += 2;
            }
            else
            {
                bytes.Add((byte)text[index]);
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }
}
