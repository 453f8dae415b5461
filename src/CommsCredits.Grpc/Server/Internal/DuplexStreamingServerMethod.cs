namespace CommsCredits.Grpc.Server.Internal;

using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;

/// <summary>A bidirectional method: the handler reads requests and writes responses as it likes.</summary>
internal sealed class DuplexStreamingServerMethod<TRequest, TResponse> : ServerMethod
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly Func<IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler;
    private readonly MessageParser<TRequest> parser;

    public DuplexStreamingServerMethod(MethodDescriptor descriptor, MethodInfo handlerMethod, object service, GrpcServerRuntime runtime)
        : base(descriptor, MethodShape.DuplexStreaming, runtime)
    {
        handler = handlerMethod.CreateDelegate<Func<IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task>>(service);
        parser = (MessageParser<TRequest>)descriptor.InputType.Parser;
    }

    protected override async Task RunAsync(ServerCall call)
    {
        using var disposal = call;
        CallOutcome outcome;
        try
        {
            await call.AuthorizeCallAsync(request: null).ConfigureAwait(false);
            var requests = new ServerStreamReader<TRequest>(call, parser);
            var responses = new ServerStreamWriter<TResponse>(call);
            await call.AwaitHandlerAsync(Invoke(requests, responses, call.Context)).ConfigureAwait(false);
            outcome = call.StreamRefusalOutcome ?? CallOutcome.Ok;
        }
        catch (Exception exception)
        {
            outcome = call.StreamRefusalOutcome ?? call.MapFailure(exception);
        }

        await call.EndStreamsAsync().ConfigureAwait(false);
        call.Finish(outcome);
    }

    private Task Invoke(IAsyncStreamReader<TRequest> requests, IServerStreamWriter<TResponse> responses, ServerCallContext context)
    {
        try
        {
            return handler(requests, responses, context) ?? Task.FromException(new InvalidOperationException("the handler returned a null task"));
        }
        catch (Exception exception)
        {
            return Task.FromException(exception);
        }
    }
}
