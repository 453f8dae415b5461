namespace CommsCredits.Grpc.Server.Internal;

using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;

/// <summary>A client-streaming method: requests read by the handler as they come, one response.</summary>
internal sealed class ClientStreamingServerMethod<TRequest, TResponse> : ServerMethod
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly Func<IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>> handler;
    private readonly MessageParser<TRequest> parser;

    public ClientStreamingServerMethod(MethodDescriptor descriptor, MethodInfo handlerMethod, object service, GrpcServerRuntime runtime)
        : base(descriptor, MethodShape.ClientStreaming, runtime)
    {
        handler = handlerMethod.CreateDelegate<Func<IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>>>(service);
        parser = (MessageParser<TRequest>)descriptor.InputType.Parser;
    }

    protected override async Task RunAsync(ServerCall call)
    {
        using var disposal = call;
        CallOutcome outcome;
        TResponse? response = null;
        try
        {
            await call.AuthorizeCallAsync(request: null).ConfigureAwait(false);
            var requests = new ServerStreamReader<TRequest>(call, parser);
            response = await call.AwaitHandlerAsync(Invoke(requests, call.Context)).ConfigureAwait(false);
            outcome = call.StreamRefusalOutcome ?? CallOutcome.Ok;
        }
        catch (Exception exception)
        {
            outcome = call.StreamRefusalOutcome ?? call.MapFailure(exception);
        }

        await call.EndStreamsAsync().ConfigureAwait(false);
        if (outcome.Send && outcome.Status.Code == Protocol.StatusCode.OK)
        {
            try
            {
                call.WriteResponseMessage(response ?? throw new InvalidOperationException("the handler returned a null response"));
            }
            catch (Exception exception)
            {
                outcome = call.MapFailure(exception);
            }
        }

        call.Finish(outcome);
    }

    private Task<TResponse> Invoke(IAsyncStreamReader<TRequest> requests, ServerCallContext context)
    {
        try
        {
            return handler(requests, context) ?? Task.FromException<TResponse>(new InvalidOperationException("the handler returned a null task"));
        }
        catch (Exception exception)
        {
            return Task.FromException<TResponse>(exception);
        }
    }
}
