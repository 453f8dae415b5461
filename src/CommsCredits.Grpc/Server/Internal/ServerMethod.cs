namespace CommsCredits.Grpc.Server.Internal;

using System.Diagnostics;
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
        Descriptor = descriptor;
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

    public MethodDescriptor Descriptor { get; }

    /// <summary>"/package.Service/Method".</summary>
    public string FullName { get; }

    public MethodShape Shape { get; }

    public string ShapeName { get; }

    public GrpcServerRuntime Runtime { get; }

    /// <summary>The request delegate; the call's own work (and its disposal) is in <see cref="RunAsync"/>.</summary>
    public Task HandleAsync(HttpContext httpContext)
    {
        if (Runtime.CallObservers.Count == 0)
        {
            return HandleUnobservedAsync(httpContext);
        }

        var started = Stopwatch.GetTimestamp();
        // Routing matches paths without regard to case; a path that is not exactly ours is not one of our methods.
        var method = string.Equals(httpContext.Request.Path.Value, FullName, StringComparison.Ordinal) ? FullName : null;
        return CallObservation.ObserveAsync(HandleUnobservedAsync(httpContext), httpContext, Runtime, method, started);
    }

    private Task HandleUnobservedAsync(HttpContext httpContext)
    {
        if (!GrpcRequestGate.TryAccept(httpContext, Runtime, FullName))
        {
            return Task.CompletedTask;
        }

        var call = ServerCall.TryStart(httpContext, this);
        return call is null ? Task.CompletedTask : RunAsync(call);
    }

    /// <summary>Logs the failure of a handler the call no longer waited for, in the scope its handler named (<see cref="ServerCallContext.LogScope"/>).</summary>
    public void LogAbandonedFailure(AggregateException exception, object? logScope)
    {
        var failure = exception.InnerExceptions.Count == 1 ? exception.InnerExceptions[0] : exception;
        using var scope = logScope is null ? null : Runtime.Logger.BeginScope(logScope);
        GrpcServerLog.AbandonedHandlerFailed(Runtime.Logger, FullName, failure);
    }

    /// <summary>
    /// Runs the call to its end, status included, and disposes it; never throws for anything a call can do.
    /// </summary>
    protected abstract Task RunAsync(ServerCall call);
}
