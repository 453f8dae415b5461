namespace CommsCredits.Grpc.Server.Internal;

using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;

/// <summary>A server-streaming method: one request, responses written as the handler produces them.</summary>
internal sealed class ServerStreamingServerMethod<TRequest, TResponse> : ServerMethod
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler;
    private readonly MessageParser<TRequest> parser;

    public ServerStreamingServerMethod(MethodDescriptor descriptor, MethodInfo handlerMethod, object service, GrpcServerRuntime runtime)
        : base(descriptor, MethodShape.ServerStreaming, runtime)
    {
        handler = handlerMethod.CreateDelegate<Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task>>(service);
        parser = (MessageParser<TRequest>)descriptor.InputType.Parser;
    }

    protected override async Task RunAsync(ServerCall call)
    {
        using var disposal = call;
        CallOutcome outcome;
        try
        {
            var request = await call.ReadSingleRequestAsync(parser).ConfigureAwait(false);
            await call.AuthorizeCallAsync(request).ConfigureAwait(false);
            var responses = new ServerStreamWriter<TResponse>(call);
            await call.AwaitHandlerAsync(Invoke(request, responses, call.Context)).ConfigureAwait(false);
            outcome = CallOutcome.Ok;
        }
        catch (Exception exception)
        {
            outcome = call.MapFailure(exception);
        }

        await call.EndStreamsAsync().ConfigureAwait(false);
        call.Finish(outcome);
    }

    private Task Invoke(TRequest request, IServerStreamWriter<TResponse> responses, ServerCallContext context)
    {
        try
        {
            return handler(request, responses, context) ?? Task.FromException(new InvalidOperationException("the handler returned a null task"));
        }
        catch (Exception exception)
        {
            return Task.FromException(exception);
        }
    }
}
