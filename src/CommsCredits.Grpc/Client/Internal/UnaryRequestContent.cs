namespace CommsCredits.Grpc.Client.Internal;

using System.Buffers;
using System.Net;
using CommsCredits.Grpc.Internal;
using Google.Protobuf;

/// <summary>
/// The body of a unary or server-streaming request: one framed message. It is serialized into a pooled
/// buffer only while HttpClient writes it, and the buffer goes back to the pool (cleared) only after that write
/// has completed, so no request can ever send another's bytes.
/// </summary>
internal sealed class UnaryRequestContent : HttpContent
{
    private readonly IMessage message;
    private readonly int messageSize;

    public UnaryRequestContent(IMessage message, int messageSize)
    {
        this.message = message;
        this.messageSize = messageSize;
        Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var length = MessageFrame.HeaderLength + messageSize;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            MessageFrame.WriteHeader(buffer, compressed: false, messageSize);
            message.WriteTo(buffer.AsSpan(MessageFrame.HeaderLength, messageSize));
            await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            buffer.AsSpan(0, length).Clear();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = MessageFrame.HeaderLength + messageSize;
        return true;
    }
}
