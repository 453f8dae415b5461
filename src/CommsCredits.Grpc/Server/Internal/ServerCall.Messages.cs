namespace CommsCredits.Grpc.Server.Internal;

using System.Runtime.CompilerServices;
using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;

/// <summary>Reading request messages and writing response messages.</summary>
internal sealed partial class ServerCall
{
    /// <summary>
    /// Reads the one request of a unary or server-streaming call and checks the stream ends after it. Like
    /// grpc-java and grpc-dotnet we answer INTERNAL both for a missing request and for a second one.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<T> ReadSingleRequestAsync<T>(Google.Protobuf.MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        try
        {
            return await ReadOnlyRequestAsync(parser).ConfigureAwait(false);
        }
        catch (IOException exception)
        {
            // As for a streamed request (ServerStreamReader): Kestrel fails the body read when the client reset the
            // stream or its connection broke, possibly before RequestAborted fires. The client's doing, not a failure.
            MarkClientGone();
            throw new OperationCanceledException("the client reset the request stream or its connection closed", exception, CancellationToken);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> ReadOnlyRequestAsync<T>(Google.Protobuf.MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        var message = await PipeMessageReader.ReadAsync(RequestBody, parser, readSettings, CancellationToken).ConfigureAwait(false);
        if (message is null)
        {
            GrpcErrors.Throw(StatusCode.Internal, $"{method.ShapeName} call received no request message");
        }

        while (true)
        {
            var result = await RequestBody.ReadAsync(CancellationToken).ConfigureAwait(false);
            var extra = !result.Buffer.IsEmpty;
            RequestBody.AdvanceTo(result.Buffer.End);
            if (extra)
            {
                GrpcErrors.Throw(StatusCode.Internal, $"{method.ShapeName} call received more than one request message");
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return message;
            }
        }
    }

    /// <summary>The next message of a request stream; null at its end. The handler's own token is honoured too.</summary>
    public ValueTask<T?> ReadStreamMessageAsync<T>(Google.Protobuf.MessageParser<T> parser, CancellationToken handlerToken)
        where T : class, IMessage<T>
    {
        if (!handlerToken.CanBeCanceled || handlerToken == CancellationToken)
        {
            return PipeMessageReader.ReadAsync(RequestBody, parser, readSettings, CancellationToken);
        }

        return ReadLinkedAsync(parser, handlerToken);
    }

    /// <summary>
    /// Frames a response message into the response body (not flushed). Throws RESOURCE_EXHAUSTED before
    /// anything is written if it is over the send limit.
    /// </summary>
    public void WriteResponseMessage(IMessage message)
    {
        var size = message.CalculateSize();
        var limit = method.Runtime.MaxSendMessageSizeBytes;
        if (size > limit)
        {
            GrpcServerLog.ResponseTooLarge(method.Runtime.Logger, method.FullName, size, limit);
            GrpcErrors.ThrowMessageTooLarge("response", size, limit);
        }

        StartResponse();
        MessageFrame.Write(httpContext.Response.BodyWriter, message, size);
    }

    /// <summary>Sends what was written so far, so a streamed message leaves as soon as it is produced.</summary>
    public async Task FlushAsync(CancellationToken handlerToken)
    {
        using var linked = LinkIfNeeded(handlerToken);
        var token = linked?.Token ?? CancellationToken;
        var result = await httpContext.Response.BodyWriter.FlushAsync(token).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new OperationCanceledException("the response stream was closed", token);
        }
    }

    private async ValueTask<T?> ReadLinkedAsync<T>(Google.Protobuf.MessageParser<T> parser, CancellationToken handlerToken)
        where T : class, IMessage<T>
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, handlerToken);
        return await PipeMessageReader.ReadAsync(RequestBody, parser, readSettings, linked.Token).ConfigureAwait(false);
    }

    private CancellationTokenSource? LinkIfNeeded(CancellationToken handlerToken) =>
        !handlerToken.CanBeCanceled || handlerToken == CancellationToken
            ? null
            : CancellationTokenSource.CreateLinkedTokenSource(CancellationToken, handlerToken);

    /// <summary>Response-Headers go out with the first message: content type, then the handler's metadata.</summary>
    private void StartResponse()
    {
        if (responseStarted)
        {
            return;
        }

        responseStarted = true;
        var response = httpContext.Response;
        GrpcResponse.WriteStartHeaders(response);
        GrpcResponse.WriteMetadata(response.Headers, Context.ResponseHeadersOrNull, method.Runtime.Logger, method.FullName);
    }
}
