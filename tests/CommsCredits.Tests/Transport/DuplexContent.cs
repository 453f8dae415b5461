namespace CommsCredits.Tests.Transport;

using System.Buffers.Binary;
using System.Net;
using System.Threading.Channels;

/// <summary>
/// A request body written while the response is read: what HttpClient needs for client-streaming and
/// bidirectional calls, which our channel does not offer.
/// </summary>
public sealed class DuplexContent : HttpContent
{
    private readonly Channel<byte[]> frames = Channel.CreateUnbounded<byte[]>();

    public ValueTask SendAsync(byte[] frame) => frames.Writer.WriteAsync(frame);

    public void Complete() => frames.Writer.Complete();

    /// <summary>Reads one length-prefixed message from a response stream; null at its end.</summary>
    public static async Task<byte[]?> ReadMessageAsync(Stream stream)
    {
        var header = new byte[5];
        var read = await stream.ReadAtLeastAsync(header, 5, throwOnEndOfStream: false);
        if (read == 0)
        {
            return null;
        }

        var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
        await stream.ReadExactlyAsync(payload);
        return payload;
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await foreach (var frame in frames.Reader.ReadAllAsync())
        {
            await stream.WriteAsync(frame);
            await stream.FlushAsync();
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
