namespace CommsCredits.Grpc.Client;

using CommsCredits.Grpc.Client.Internal;
using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;

/// <summary>Unary calls.</summary>
public sealed partial class GrpcChannel
{
    private async Task<(TResponse Response, Metadata? Headers, Metadata? Trailers)> UnaryCoreAsync<TRequest, TResponse>(
        string fullMethodName,
        TRequest request,
        CallOptions options,
        bool captureMetadata)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(request);
        using var call = new ClientCall(options, cancellable: false);
        using var httpRequest = CreateRequest(fullMethodName, request, call, options.Headers);
        HttpResponseMessage? response = null;
        try
        {
            response = await SendAsync(httpRequest, call.Token).ConfigureAwait(false);
            return await ReadUnaryResponseAsync<TResponse>(response, call, captureMetadata).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw call.MapException(exception);
        }
        finally
        {
            response?.Dispose();
        }
    }

    /// <summary>The one response message of a unary or client-streaming call, with the status in its trailers.</summary>
    internal async Task<(TResponse Response, Metadata? Headers, Metadata? Trailers)> ReadUnaryResponseAsync<TResponse>(HttpResponseMessage response, ClientCall call, bool captureMetadata)
        where TResponse : IMessage<TResponse>, new()
    {
        if (ResponseReader.StatusFromHeaders(response) is { } immediate)
        {
            // Trailers-Only: the status, and any trailers, came in the one header block.
            var trailersOnly = ResponseReader.ReadMetadata(response.Headers);
            var status = immediate.Code == StatusCode.OK
                ? new Status(StatusCode.Internal, "the server answered OK without a response message")
                : immediate;
            throw new RpcException(status, trailersOnly);
        }

        var headers = captureMetadata ? ResponseReader.ReadMetadata(response.Headers) : null;
        var settings = new MessageReadSettings(
            maxReceiveMessageSizeBytes,
            ResponseReader.FirstValue(response.Headers, GrpcProtocol.EncodingHeader),
            "response",
            StatusCode.Internal);
        var stream = await response.Content.ReadAsStreamAsync(call.Token).ConfigureAwait(false);
        var reader = CreateResponseReader(stream);
        TResponse? message;
        try
        {
            message = await PipeMessageReader.ReadAsync(reader, MessageParserCache<TResponse>.Parser, settings, call.Token).ConfigureAwait(false);
            if (message is not null
                && await PipeMessageReader.ReadAsync(reader, MessageParserCache<TResponse>.Parser, settings, call.Token).ConfigureAwait(false) is not null)
            {
                GrpcErrors.Throw(StatusCode.Internal, "the server sent more than one response message to a unary call");
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }

        var final = ResponseReader.StatusFromTrailers(response);
        if (final.Code != StatusCode.OK)
        {
            throw new RpcException(final, ResponseReader.ReadMetadata(response.TrailingHeaders));
        }

        if (message is null)
        {
            throw new RpcException(new Status(StatusCode.Internal, "the server answered OK without a response message"));
        }

        var trailers = captureMetadata ? ResponseReader.ReadMetadata(response.TrailingHeaders) : null;
        return (message, headers, trailers);
    }
}
