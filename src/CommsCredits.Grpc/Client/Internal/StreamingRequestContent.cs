namespace CommsCredits.Grpc.Client.Internal;

using System.Net;
using CommsCredits.Grpc.Internal;

/// <summary>
/// The body of a client-streaming request, written while the call is open. HttpClient hands over the HTTP/2
/// request stream when it starts sending the body; the call writes its messages straight into it, and the body
/// (and with it the request stream, END_STREAM) ends when the call completes or abandons it.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> requestStream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource requestEnd = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamingRequestContent() => Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);

    /// <summary>The HTTP/2 request stream, once HttpClient has started sending the body.</summary>
    public Task<Stream> RequestStream => requestStream.Task;

    /// <summary>Ends the request stream after what was written.</summary>
    public void Complete() => requestEnd.TrySetResult();

    /// <summary>Stops waiting for writes: the call is over (its status is known, or it was cancelled).</summary>
    public void Abandon()
    {
        requestStream.TrySetCanceled();
        requestEnd.TrySetCanceled();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    /// <summary>
    /// HttpClient cancels <paramref name="cancellationToken"/> when it stops sending the body, for example because
    /// the server has already answered; the writes still waiting then fail and the call reports the answer.
    /// </summary>
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        requestStream.TrySetResult(stream);
        await requestEnd.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
