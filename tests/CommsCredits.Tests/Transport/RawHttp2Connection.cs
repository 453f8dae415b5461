namespace CommsCredits.Tests.Transport;

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// A bare-bones h2c client that writes HTTP/2 frames itself, so tests can see exactly which frames the server
/// sends (HttpClient hides them) and split request data into frames of any size. Header blocks are sent as
/// HPACK literals without indexing; the server's header blocks are not decoded, only counted and flagged.
/// </summary>
public sealed class RawHttp2Connection : IAsyncDisposable
{
    public const byte DataFrame = 0x0;
    public const byte HeadersFrame = 0x1;
    public const byte RstStreamFrame = 0x3;
    public const byte SettingsFrame = 0x4;
    public const byte PingFrame = 0x6;
    public const byte EndStreamFlag = 0x1;
    public const byte EndHeadersFlag = 0x4;
    private const byte AckFlag = 0x1;

    private readonly TcpClient client;
    private readonly NetworkStream stream;

    private RawHttp2Connection(TcpClient client)
    {
        this.client = client;
        stream = client.GetStream();
    }

    public static async Task<RawHttp2Connection> ConnectAsync(int port)
    {
        var tcpClient = new TcpClient();
        await tcpClient.ConnectAsync(IPAddress.Loopback, port);
        var connection = new RawHttp2Connection(tcpClient);
        await connection.stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        await connection.WriteFrameAsync(SettingsFrame, 0, 0, ReadOnlyMemory<byte>.Empty);
        return connection;
    }

    public Task SendRequestHeadersAsync(int streamId, string path, bool endStream, params (string Name, string Value)[] extra)
    {
        (string, string)[] headers =
        [
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
            ("content-type", "application/grpc"), ("te", "trailers"), .. extra,
        ];
        var block = new List<byte>();
        foreach (var (name, value) in headers)
        {
            block.Add(0x00);
            AppendString(block, name);
            AppendString(block, value);
        }

        var flags = (byte)(EndHeadersFlag | (endStream ? EndStreamFlag : 0));
        return WriteFrameAsync(HeadersFrame, flags, streamId, block.ToArray());
    }

    public Task SendDataAsync(int streamId, ReadOnlyMemory<byte> data, bool endStream) =>
        WriteFrameAsync(DataFrame, endStream ? EndStreamFlag : (byte)0, streamId, data);

    /// <summary>The frames the server sends on one stream, until it ends (END_STREAM or RST_STREAM).</summary>
    public async Task<IReadOnlyList<Http2Frame>> ReadStreamAsync(int streamId, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        var frames = new List<Http2Frame>();
        while (true)
        {
            var frame = await ReadFrameAsync(cancellation.Token);
            if (frame.Type == SettingsFrame && (frame.Flags & AckFlag) == 0)
            {
                await WriteFrameAsync(SettingsFrame, AckFlag, 0, ReadOnlyMemory<byte>.Empty);
            }
            else if (frame.Type == PingFrame && (frame.Flags & AckFlag) == 0)
            {
                await WriteFrameAsync(PingFrame, AckFlag, 0, frame.Payload);
            }

            if (frame.StreamId != streamId)
            {
                continue;
            }

            frames.Add(frame);
            if (frame.Type == RstStreamFrame || (frame.Flags & EndStreamFlag) != 0 && frame.Type is DataFrame or HeadersFrame)
            {
                return frames;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stream.DisposeAsync();
        client.Dispose();
    }

    private static void AppendString(List<byte> block, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        AppendInteger(block, bytes.Length);
        block.AddRange(bytes);
    }

    /// <summary>An HPACK integer with a 7-bit prefix and the Huffman bit clear (RFC 7541 section 5.1).</summary>
    private static void AppendInteger(List<byte> block, int value)
    {
        if (value < 127)
        {
            block.Add((byte)value);
            return;
        }

        block.Add(127);
        value -= 127;
        while (value >= 128)
        {
            block.Add((byte)((value % 128) + 128));
            value /= 128;
        }

        block.Add((byte)value);
    }

    private async Task WriteFrameAsync(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload)
    {
        var header = new byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(5), streamId);
        await stream.WriteAsync(header);
        await stream.WriteAsync(payload);
        await stream.FlushAsync();
    }

    private async Task<Http2Frame> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[9];
        await stream.ReadExactlyAsync(header, cancellationToken);
        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        var payload = new byte[length];
        await stream.ReadExactlyAsync(payload, cancellationToken);
        return new Http2Frame(header[3], header[4], BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue, payload);
    }
}

/// <summary>One HTTP/2 frame as received.</summary>
public sealed record Http2Frame(byte Type, byte Flags, int StreamId, byte[] Payload);
