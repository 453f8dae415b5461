namespace CommsCredits.Grpc.Server.Internal;

using CommsCredits.Grpc.Protocol;
using Google.Protobuf;

/// <summary>The request stream of a client-streaming or bidirectional call.</summary>
internal sealed class ServerStreamReader<T>(ServerCall call, MessageParser<T> parser) : IAsyncStreamReader<T>
    where T : class, IMessage<T>
{
    private T? current;
    private bool ended;
    private long messageCount;

    public T Current => current ?? throw new InvalidOperationException("MoveNext has not returned a message yet");

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        if (ended)
        {
            return false;
        }

        call.ThrowIfStreamRefused();
        var gate = call.Gate!;
        gate.Enter(write: false, call.CancellationToken);
        try
        {
            var message = await call.ReadStreamMessageAsync(parser, cancellationToken).ConfigureAwait(false);
            if (message is null)
            {
                ended = true;
                return false;
            }

            // The handler sees a message only once the authorizers have let it through.
            await call.AuthorizeStreamMessageAsync(message, ++messageCount).ConfigureAwait(false);
            current = message;
            return true;
        }
        catch (RpcException exception)
        {
            // A refused, oversized or malformed message ends the stream for good, even if the handler catches this:
            // the reader has already moved past the message, so reading on would silently skip it.
            call.FailStream(exception);
            throw;
        }
        catch (IOException exception)
        {
            // Kestrel fails a request body read only when the client reset the stream or its connection broke,
            // possibly before it cancels RequestAborted. For the handler that is a cancellation, not its failure.
            call.MarkClientGone();
            throw new OperationCanceledException("the client reset the request stream or its connection closed", exception, call.CancellationToken);
        }
        finally
        {
            gate.Exit(write: false);
        }
    }
}
