namespace CommsCredits.Grpc.Server.Internal;

using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;

/// <summary>A unary method: one request, one response.</summary>
internal sealed class UnaryServerMethod<TRequest, TResponse> : ServerMethod
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly Func<TRequest, ServerCallContext, Task<TResponse>> handler;
    private readonly MessageParser<TRequest> parser;

    public UnaryServerMethod(MethodDescriptor descriptor, MethodInfo handlerMethod, object service, GrpcServerRuntime runtime)
        : base(descriptor, MethodShape.Unary, runtime)
    {
        handler = handlerMethod.CreateDelegate<Func<TRequest, ServerCallContext, Task<TResponse>>>(service);
        parser = (MessageParser<TRequest>)descriptor.InputType.Parser;
    }

    protected override async Task RunAsync(ServerCall call)
    {
        using var disposal = call;
        try
        {
            var request = await call.ReadSingleRequestAsync(parser).ConfigureAwait(false);
            await call.AuthorizeCallAsync(request).ConfigureAwait(false);
            var response = await call.AwaitHandlerAsync(Invoke(request, call.Context)).ConfigureAwait(false);
            call.WriteResponseMessage(response ?? throw new InvalidOperationException("the handler returned a null response"));
            call.Finish(CallOutcome.Ok);
        }
        catch (Exception exception)
        {
            call.Fail(exception);
        }
    }

    /// <summary>A handler that throws before returning its task is treated like one whose task failed.</summary>
    private Task<TResponse> Invoke(TRequest request, ServerCallContext context)
    {
        try
        {
            return handler(request, context) ?? Task.FromException<TResponse>(new InvalidOperationException("the handler returned a null task"));
        }
        catch (Exception exception)
        {
            return Task.FromException<TResponse>(exception);
        }
    }
}
