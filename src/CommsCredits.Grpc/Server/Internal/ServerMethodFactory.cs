namespace CommsCredits.Grpc.Server.Internal;

using System.Reflection;

/// <summary>
/// Builds the bound method for a checked handler. This is the one place that uses reflection: once per method
/// at start-up, to close the generic method class over the message types and bind the handler delegate.
/// </summary>
internal static class ServerMethodFactory
{
    public static ServerMethod Create(HandlerSignature signature, MethodInfo handler, object service, GrpcServerRuntime runtime)
    {
        var openType = signature.Shape switch
        {
            MethodShape.Unary => typeof(UnaryServerMethod<,>),
            MethodShape.ServerStreaming => typeof(ServerStreamingServerMethod<,>),
            MethodShape.ClientStreaming => typeof(ClientStreamingServerMethod<,>),
            _ => typeof(DuplexStreamingServerMethod<,>),
        };
        var closedType = openType.MakeGenericType(signature.Method.InputType.ClrType, signature.Method.OutputType.ClrType);
        try
        {
            return (ServerMethod)Activator.CreateInstance(closedType, signature.Method, handler, service, runtime)!;
        }
        catch (TargetInvocationException exception) when (exception.InnerException is not null)
        {
            throw new InvalidOperationException(
                $"gRPC method {GrpcServiceDefinition.FullMethodName(signature.Method)} could not be bound: {exception.InnerException.Message}",
                exception.InnerException);
        }
    }
}
