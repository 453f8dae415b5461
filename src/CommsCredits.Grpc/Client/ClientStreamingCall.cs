namespace CommsCredits.Grpc.Client;

using System.Buffers;
using CommsCredits.Grpc.Client.Internal;
using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;

/// <summary>
/// A client-streaming call in progress. Write the requests one at a time with <see cref="WriteAsync"/>, end
/// them with <see cref="CompleteAsync"/>, then await <see cref="ResponseAsync"/>: a status other than OK is thrown
/// from it as <see cref="RpcException"/>, and <see cref="Status"/> and <see cref="Trailers"/> are known after it.
/// A server that answers before reading every request (typically to refuse them) fails the next write with that
/// answer's status. The call's deadline and cancellation token bound the writes too. Disposing the call before
/// its end cancels it.
/// </summary>
public sealed class ClientStreamingCall<TRequest, TResponse> : IDisposable
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>, new()
{
    private readonly GrpcChannel channel;
    private readonly ClientCall call;
    private readonly HttpRequestMessage request;
    private readonly StreamingRequestContent content;
    private readonly Task<TResponse> responseTask;
    private Status? status;
    private Metadata? trailers;
    private int writing;
    private bool completed;
    private int disposed;

    internal ClientStreamingCall(GrpcChannel channel, ClientCall call, HttpRequestMessage request, StreamingRequestContent content)
    {
        this.channel = channel;
        this.call = call;
        this.request = request;
        this.content = content;
        responseTask = ReceiveAsync();
    }

    /// <summary>The one response, once the server has answered (for most methods, after <see cref="CompleteAsync"/>).</summary>
    public Task<TResponse> ResponseAsync => responseTask;

    /// <summary>The status of the call, once <see cref="ResponseAsync"/> has completed.</summary>
    public Status Status => status ?? throw new InvalidOperationException("the call has not ended: await ResponseAsync first");

    /// <summary>The trailers of the call, once <see cref="ResponseAsync"/> has completed.</summary>
    public Metadata Trailers => trailers ?? throw new InvalidOperationException("the call has not ended: await ResponseAsync first");

    /// <summary>
    /// Sends one request message; completes once it has been handed to HTTP/2, which waits for the server's flow
    /// control window, so a slow reader slows the writer. One write at a time. A message over the channel's send
    /// limit fails with RESOURCE_EXHAUSTED before anything is sent; a call that has ended fails with its status.
    /// </summary>
    public async Task WriteAsync(TRequest message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (completed)
        {
            throw new InvalidOperationException("the request stream is complete: nothing more can be written");
        }

        if (Interlocked.Exchange(ref writing, 1) == 1)
        {
            throw new InvalidOperationException("a write is already in progress: await each WriteAsync before the next");
        }

        try
        {
            var size = message.CalculateSize();
            channel.ThrowIfTooLargeToSend(size);
            var stream = await RequestStreamAsync().ConfigureAwait(false);
            await WriteFrameAsync(stream, message, size).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref writing, 0);
        }
    }

    /// <summary>Ends the request stream: the server reads no more requests after what was written.</summary>
    public Task CompleteAsync()
    {
        if (Volatile.Read(ref writing) == 1)
        {
            throw new InvalidOperationException("a write is in progress: await it before completing the request stream");
        }

        completed = true;
        content.Complete();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        if (!responseTask.IsCompleted)
        {
            call.Cancel();
        }

        content.Abandon();

        // Observe a failure nobody awaited.
        _ = responseTask.ContinueWith(
            static task => task.Exception,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        request.Dispose();
        call.Dispose();
    }

    private async Task<TResponse> ReceiveAsync()
    {
        HttpResponseMessage? response = null;
        try
        {
            response = await channel.SendAsync(request, call.Token).ConfigureAwait(false);
            var (message, _, responseTrailers) = await channel.ReadUnaryResponseAsync<TResponse>(response, call, captureMetadata: true).ConfigureAwait(false);
            trailers = responseTrailers;
            status = new Status(StatusCode.OK, string.Empty);
            return message;
        }
        catch (Exception exception)
        {
            var failure = call.MapException(exception);
            trailers = failure.Trailers;
            status = failure.Status;
            throw failure;
        }
        finally
        {
            // The call is over: writes still waiting for the request stream fail with its status.
            content.Abandon();
            response?.Dispose();
        }
    }

    /// <summary>The HTTP/2 request stream, once HttpClient has opened it; a call that ended first fails with its status.</summary>
    private async Task<Stream> RequestStreamAsync()
    {
        var streamTask = content.RequestStream;
        if (!streamTask.IsCompleted)
        {
            await Task.WhenAny(streamTask, responseTask).ConfigureAwait(false);
        }

        if (responseTask.IsCompleted || !streamTask.IsCompletedSuccessfully)
        {
            throw await EndedAsync().ConfigureAwait(false);
        }

        return streamTask.Result;
    }

    private async Task WriteFrameAsync(Stream stream, TRequest message, int size)
    {
        var length = MessageFrame.HeaderLength + size;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            MessageFrame.WriteHeader(buffer, compressed: false, size);
            message.WriteTo(buffer.AsSpan(MessageFrame.HeaderLength, size));
            await stream.WriteAsync(buffer.AsMemory(0, length), call.Token).ConfigureAwait(false);
            await stream.FlushAsync(call.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            // HttpClient stops the request body when the call ends (an early answer, a reset, the deadline, a
            // cancellation); the call's status says why, and the response ends with it.
            throw await EndedAsync().ConfigureAwait(false);
        }
        finally
        {
            buffer.AsSpan(0, length).Clear();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Why nothing more can be written: the call's status, or, if the server answered OK early, that it did.</summary>
    private async Task<Exception> EndedAsync()
    {
        try
        {
            await responseTask.ConfigureAwait(false);
        }
        catch (RpcException exception)
        {
            return exception;
        }

        return new InvalidOperationException("the server has already answered the call: it reads no more requests");
    }
}
