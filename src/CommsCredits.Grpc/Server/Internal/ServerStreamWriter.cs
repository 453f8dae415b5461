namespace CommsCredits.Grpc.Server.Internal;

using Google.Protobuf;

/// <summary>The response stream of a server-streaming or bidirectional call; each write is flushed.</summary>
internal sealed class ServerStreamWriter<T>(ServerCall call) : IServerStreamWriter<T>
    where T : class, IMessage<T>
{
    public async Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        var gate = call.Gate!;
        gate.Enter(write: true, call.CancellationToken);
        try
        {
            call.WriteResponseMessage(message);
            await call.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Exit(write: true);
        }
    }
}
