namespace CommsCredits.Grpc.Client;

using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using CommsCredits.Grpc.Client.Internal;
using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;

/// <summary>
/// A server-streaming call in progress. Enumerate it (once) for the responses as they arrive; when the
/// enumeration ends, <see cref="Status"/> and <see cref="Trailers"/> are known, and a status other than OK has
/// been thrown as <see cref="RpcException"/>. Disposing the call before the end cancels it.
/// </summary>
public sealed class ServerStreamingCall<TResponse> : IAsyncEnumerable<TResponse>, IDisposable
    where TResponse : IMessage<TResponse>, new()
{
    private readonly GrpcChannel channel;
    private readonly ClientCall call;
    private readonly HttpRequestMessage request;
    private readonly int maxReceiveMessageSizeBytes;
    private readonly Task<HttpResponseMessage> responseTask;
    private Task<Metadata>? responseHeaders;
    private Status? status;
    private Metadata? trailers;
    private int enumerated;
    private int disposed;

    internal ServerStreamingCall(GrpcChannel channel, ClientCall call, HttpRequestMessage request, int maxReceiveMessageSizeBytes)
    {
        this.channel = channel;
        this.call = call;
        this.request = request;
        this.maxReceiveMessageSizeBytes = maxReceiveMessageSizeBytes;
        responseTask = StartAsync();
    }

    /// <summary>The response headers' metadata (for a Trailers-Only answer, its trailers).</summary>
    public Task<Metadata> ResponseHeadersAsync => responseHeaders ??= ReadHeadersAsync();

    /// <summary>The status of the call, once the enumeration has ended.</summary>
    public Status Status => status ?? throw new InvalidOperationException("the call has not ended: read all its responses first");

    /// <summary>The trailers of the call, once the enumeration has ended.</summary>
    public Metadata Trailers => trailers ?? throw new InvalidOperationException("the call has not ended: read all its responses first");

    public IAsyncEnumerator<TResponse> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref enumerated, 1) == 1)
        {
            throw new InvalidOperationException("the responses of a call can be enumerated only once");
        }

        return ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        if (status is null)
        {
            call.Cancel();
        }

        // Dispose the response once it exists; this also observes a failure nobody awaited.
        _ = responseTask.ContinueWith(
            static task =>
            {
                if (task.IsCompletedSuccessfully)
                {
                    task.Result.Dispose();
                }

                return task.Exception;
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        request.Dispose();
        call.Dispose();
    }

    private async Task<HttpResponseMessage> StartAsync()
    {
        try
        {
            return await channel.SendAsync(request, call.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw call.MapException(exception);
        }
    }

    private async Task<Metadata> ReadHeadersAsync()
    {
        var response = await responseTask.ConfigureAwait(false);
        return ResponseReader.ReadMetadata(response.Headers);
    }

    private async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.UnsafeRegister(static state => ((ClientCall)state!).Cancel(), call);
        var response = await ReceiveHeadersAsync().ConfigureAwait(false);
        if (ResponseReader.StatusFromHeaders(response) is { } immediate)
        {
            End(immediate, ResponseReader.ReadMetadata(response.Headers));
            yield break;
        }

        var settings = new MessageReadSettings(
            maxReceiveMessageSizeBytes,
            ResponseReader.FirstValue(response.Headers, GrpcProtocol.EncodingHeader),
            "response",
            StatusCode.Internal);
        var reader = await OpenAsync(response).ConfigureAwait(false);
        try
        {
            while (await ReadNextAsync(reader, settings).ConfigureAwait(false) is { } message)
            {
                yield return message;
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }

        End(ResponseReader.StatusFromTrailers(response), ResponseReader.ReadMetadata(response.TrailingHeaders));
    }

    private async Task<HttpResponseMessage> ReceiveHeadersAsync()
    {
        try
        {
            return await responseTask.ConfigureAwait(false);
        }
        catch (RpcException exception)
        {
            throw Fail(exception);
        }
    }

    private async Task<PipeReader> OpenAsync(HttpResponseMessage response)
    {
        try
        {
            return GrpcChannel.CreateResponseReader(await response.Content.ReadAsStreamAsync(call.Token).ConfigureAwait(false));
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Fail(call.MapException(exception));
        }
    }

    private async Task<TResponse?> ReadNextAsync(PipeReader reader, MessageReadSettings settings)
    {
        try
        {
            return await PipeMessageReader.ReadAsync(reader, MessageParserCache<TResponse>.Parser, settings, call.Token).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            throw Fail(call.MapException(exception));
        }
    }

    /// <summary>Records the final status; a status other than OK is thrown.</summary>
    private void End(Status finalStatus, Metadata finalTrailers)
    {
        status = finalStatus;
        trailers = finalTrailers;
        if (finalStatus.Code != StatusCode.OK)
        {
            throw new RpcException(finalStatus, finalTrailers);
        }
    }

    private RpcException Fail(RpcException exception)
    {
        status = exception.Status;
        trailers = exception.Trailers;
        return exception;
    }
}
