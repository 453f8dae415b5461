namespace CommsCredits.Grpc.Server.Internal;

using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;

/// <summary>
/// One bound method: the request delegate mapped to its path. Subclasses hold a delegate built once at start-up
/// for the handler's shape, so a call costs no reflection.
/// </summary>
internal abstract class ServerMethod
{
    protected ServerMethod(MethodDescriptor descriptor, MethodShape shape, GrpcServerRuntime runtime)
    {
        FullName = GrpcServiceDefinition.FullMethodName(descriptor);
        Shape = shape;
        Runtime = runtime;
        ShapeName = shape switch
        {
            MethodShape.Unary => "unary",
            MethodShape.ServerStreaming => "server-streaming",
            MethodShape.ClientStreaming => "client-streaming",
            _ => "bidirectional",
        };
    }

    /// <summary>"/package.Service/Method".</summary>
    public string FullName { get; }

    public MethodShape Shape { get; }

    public string ShapeName { get; }

    public GrpcServerRuntime Runtime { get; }

    public async Task HandleAsync(HttpContext httpContext)
    {
        if (!GrpcRequestGate.TryAccept(httpContext, Runtime, FullName))
        {
            return;
        }

        var call = ServerCall.TryStart(httpContext, this);
        if (call is null)
        {
            return;
        }

        try
        {
            await RunAsync(call).ConfigureAwait(false);
        }
        finally
        {
            call.Dispose();
        }
    }

    public void LogAbandonedFailure(AggregateException exception)
    {
        var failure = exception.InnerExceptions.Count == 1 ? exception.InnerExceptions[0] : exception;
        GrpcServerLog.AbandonedHandlerFailed(Runtime.Logger, FullName, failure);
    }

    /// <summary>Runs the call to its end, status included; never throws for anything a call can do.</summary>
    protected abstract Task RunAsync(ServerCall call);
}
