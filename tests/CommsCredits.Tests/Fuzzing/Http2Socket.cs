namespace CommsCredits.Tests.Fuzzing;

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using CommsCredits.Tests.Transport;

/// <summary>
/// A TCP connection to the gateway on which a test writes whatever bytes it likes (prefaces, frames, garbage) and
/// then reads the server's frames until the server closes the connection or a time limit passes.
/// </summary>
public sealed class Http2Socket : IAsyncDisposable
{
    public const byte DataFrame = 0x0;
    public const byte HeadersFrame = 0x1;
    public const byte RstStreamFrame = 0x3;
    public const byte SettingsFrame = 0x4;
    public const byte PingFrame = 0x6;
    public const byte GoAwayFrame = 0x7;
    public const byte WindowUpdateFrame = 0x8;

    public static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly TcpClient client;
    private readonly NetworkStream stream;

    private Http2Socket(TcpClient client)
    {
        this.client = client;
        stream = client.GetStream();
    }

    public static async Task<Http2Socket> ConnectAsync(int port)
    {
        var tcpClient = new TcpClient { NoDelay = true };
        await tcpClient.ConnectAsync(IPAddress.Loopback, port);
        return new Http2Socket(tcpClient);
    }

    /// <summary>Writes the client preface and an empty SETTINGS frame.</summary>
    public async Task StartAsync()
    {
        await WriteAsync(Preface);
        await WriteAsync(Frame(SettingsFrame, 0, 0, []));
    }

    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload) => Frame(type, flags, streamId, payload, payload.Length);

    /// <summary>A frame whose header declares <paramref name="declaredLength"/> bytes, whatever follows.</summary>
    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload, int declaredLength)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(declaredLength >> 16);
        frame[1] = (byte)(declaredLength >> 8);
        frame[2] = (byte)declaredLength;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    /// <summary>An HPACK block of literal header fields without indexing (RFC 7541 6.2.2), names and values short.</summary>
    public static byte[] HeaderBlock(params (string Name, string Value)[] headers)
    {
        var block = new List<byte>();
        foreach (var (name, value) in headers)
        {
            block.Add(0x00);
            block.Add((byte)name.Length);
            block.AddRange(System.Text.Encoding.ASCII.GetBytes(name));
            block.Add((byte)value.Length);
            block.AddRange(System.Text.Encoding.ASCII.GetBytes(value));
        }

        return [.. block];
    }

    /// <summary>The request headers of a gRPC call to <paramref name="path"/>.</summary>
    public static byte[] RequestHeaders(string path, string authorization) => HeaderBlock(
        (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"), ("content-type", "application/grpc"),
        ("te", "trailers"), ("authorization", authorization));

    /// <summary>Writes the bytes; false when the server had already closed the connection.</summary>
    public async Task<bool> WriteAsync(byte[] bytes)
    {
        try
        {
            await stream.WriteAsync(bytes);
            await stream.FlushAsync();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// The server's frames until it closes the connection (Closed) or <paramref name="timeout"/> passes. SETTINGS and
    /// PING are acknowledged, as a client must.
    /// </summary>
    public async Task<Http2Session> ReadUntilClosedAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        var frames = new List<Http2Frame>();
        var header = new byte[9];
        try
        {
            while (true)
            {
                await stream.ReadExactlyAsync(header, cancellation.Token);
                var length = (header[0] << 16) | (header[1] << 8) | header[2];
                var payload = new byte[length];
                await stream.ReadExactlyAsync(payload, cancellation.Token);
                var frame = new Http2Frame(header[3], header[4], BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue, payload);
                frames.Add(frame);
                if (frame.Type == SettingsFrame && (frame.Flags & 1) == 0)
                {
                    await WriteAsync(Frame(SettingsFrame, 1, 0, []));
                }
                else if (frame.Type == PingFrame && (frame.Flags & 1) == 0)
                {
                    await WriteAsync(Frame(PingFrame, 1, 0, payload));
                }
            }
        }
        catch (EndOfStreamException)
        {
            return new Http2Session(frames, Closed: true);
        }
        catch (IOException)
        {
            return new Http2Session(frames, Closed: true);
        }
        catch (OperationCanceledException)
        {
            return new Http2Session(frames, Closed: false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stream.DisposeAsync();
        client.Dispose();
    }
}

/// <summary>What the server sent on one connection, and whether it closed it.</summary>
public sealed record Http2Session(IReadOnlyList<Http2Frame> Frames, bool Closed)
{
    /// <summary>The error code of the server's GOAWAY, or null if it sent none.</summary>
    public int? GoAwayError => Frames.LastOrDefault(frame => frame.Type == Http2Socket.GoAwayFrame) is { } goAway
        ? BinaryPrimitives.ReadInt32BigEndian(goAway.Payload.AsSpan(4))
        : null;

    public override string ToString() =>
        $"closed={Closed}, goaway={GoAwayError?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, frames=[{string.Join(",", Frames.Select(frame => $"{frame.Type}/{frame.Flags}/{frame.StreamId}"))}]";
}
