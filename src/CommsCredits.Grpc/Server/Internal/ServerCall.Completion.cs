namespace CommsCredits.Grpc.Server.Internal;

using System.Runtime.CompilerServices;
using CommsCredits.Grpc.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

/// <summary>Waiting for the handler within the deadline, and ending the call with a status.</summary>
internal sealed partial class ServerCall
{
    /// <summary>
    /// Waits for the handler, but no longer than the call lives: when the deadline passes or the client
    /// cancels, the handler is abandoned (its failures still logged) and the call ends at once, even if the
    /// handler ignores its token.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask AwaitHandlerAsync(Task handlerTask)
    {
        if (!handlerTask.IsCompleted)
        {
            try
            {
                await handlerTask.WaitAsync(CancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!handlerTask.IsCompleted)
            {
                Abandon(handlerTask);
                throw;
            }
            catch (OperationCanceledException)
            {
                // The handler finished as the call was cancelled: its own outcome, awaited below, decides.
            }
        }

        await handlerTask.ConfigureAwait(false);
    }

    /// <inheritdoc cref="AwaitHandlerAsync(Task)"/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<TResponse> AwaitHandlerAsync<TResponse>(Task<TResponse> handlerTask)
    {
        await AwaitHandlerAsync((Task)handlerTask).ConfigureAwait(false);
        return handlerTask.Result;
    }

    /// <summary>
    /// What an exception that ended the call means for the client. A client that is gone gets nothing; the
    /// deadline gives DEADLINE_EXCEEDED; an RpcException carries its own status; an exception a registered
    /// <see cref="IRpcExceptionMapper"/> knows gets its status; anything else is a handler bug, logged with its detail
    /// and reported as UNKNOWN without it.
    /// </summary>
    public CallOutcome MapFailure(Exception exception)
    {
        var logger = method.Runtime.Logger;
        using var scope = Context.LogScope is { } state ? logger.BeginScope(state) : null;
        if (requestAborted.IsCancellationRequested || clientGone)
        {
            GrpcServerLog.ClientCancelled(logger, method.FullName);
            return CallOutcome.ClientGone;
        }

        switch (exception)
        {
            case RpcException rpc:
                GrpcServerLog.EndedWithStatus(logger, method.FullName, rpc.StatusCode, rpc.Status.Detail);
                return new CallOutcome(Send: true, rpc.Status, rpc.Trailers);
            case OperationCanceledException when CancellationToken.IsCancellationRequested:
                GrpcServerLog.DeadlineExceeded(logger, method.FullName);
                return new CallOutcome(Send: true, new Status(StatusCode.DeadlineExceeded, "deadline exceeded"), Trailers: null);
            default:
                return MapApplicationFailure(exception);
        }
    }

    /// <summary>An exception the registered mappers know gets their status; any other is a handler bug.</summary>
    private CallOutcome MapApplicationFailure(Exception exception)
    {
        var logger = method.Runtime.Logger;
        foreach (var mapper in method.Runtime.ExceptionMappers)
        {
            if (mapper.TryMap(exception, out var status))
            {
                GrpcServerLog.EndedWithStatus(logger, method.FullName, status.Code, status.Detail);
                return new CallOutcome(Send: true, status, Trailers: null);
            }
        }

        GrpcServerLog.HandlerFailed(logger, method.FullName, exception);
        return new CallOutcome(Send: true, new Status(StatusCode.Unknown, "exception was thrown by the handler"), Trailers: null);
    }

    /// <summary>
    /// Closes the request and response streams of a streaming call to the handler: operations still in flight
    /// are cancelled and awaited, later ones fail. Must run before the final status is written.
    /// </summary>
    public async Task EndStreamsAsync()
    {
        var closing = Gate!.CloseAsync(byCancellation: CancellationToken.IsCancellationRequested);
        if (!closing.IsCompleted)
        {
            await cancellation!.CancelAsync().ConfigureAwait(false);
            await closing.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends the status: in the trailers after a response was started, else as Trailers-Only. The metadata of
    /// an abandoned handler is left out: it may still be changing it on another thread.
    /// </summary>
    public void Finish(in CallOutcome outcome)
    {
        if (!outcome.Send)
        {
            return;
        }

        var logger = method.Runtime.Logger;
        var handlerHeaders = handlerAbandoned ? null : Context.ResponseHeadersOrNull;
        var handlerTrailers = handlerAbandoned ? null : Context.ResponseTrailersOrNull;
        IHeaderDictionary target;
        if (responseStarted)
        {
            target = httpContext.Features.GetRequiredFeature<IHttpResponseTrailersFeature>().Trailers;
        }
        else
        {
            GrpcResponse.WriteStartHeaders(httpContext.Response);
            target = httpContext.Response.Headers;
            GrpcResponse.WriteMetadata(target, handlerHeaders, logger, method.FullName);
        }

        GrpcResponse.WriteStatus(target, outcome.Status);
        GrpcResponse.WriteMetadata(target, outcome.Trailers, logger, method.FullName);
        GrpcResponse.WriteMetadata(target, handlerTrailers, logger, method.FullName);
    }

    public void Fail(Exception exception) => Finish(MapFailure(exception));

    private void Abandon(Task handlerTask)
    {
        handlerAbandoned = true;
        _ = handlerTask.ContinueWith(
            static (task, state) =>
            {
                var (abandonedBy, context) = ((ServerMethod, ServerCallContext))state!;
                abandonedBy.LogAbandonedFailure(task.Exception!, context.LogScope);
            },
            (method, Context),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}
