namespace CommsCredits.Grpc.Server.Internal;

using System.Reflection;
using Google.Protobuf.Reflection;

/// <summary>
/// A service class checked against its proto service: every method has a handler of the right shape. Built
/// when the service is registered, so a missing or mis-shaped handler stops the application before it serves.
/// </summary>
internal sealed class GrpcServiceDefinition
{
    private GrpcServiceDefinition(Type serviceType, ServiceDescriptor descriptor, IReadOnlyList<(HandlerSignature Signature, MethodInfo Handler)> handlers)
    {
        ServiceType = serviceType;
        Descriptor = descriptor;
        Handlers = handlers;
    }

    public Type ServiceType { get; }

    public ServiceDescriptor Descriptor { get; }

    public IReadOnlyList<(HandlerSignature Signature, MethodInfo Handler)> Handlers { get; }

    public static GrpcServiceDefinition Create(Type serviceType, ServiceDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        var candidates = serviceType.GetMethods(BindingFlags.Public | BindingFlags.Instance);
        var handlers = new List<(HandlerSignature, MethodInfo)>(descriptor.Methods.Count);
        foreach (var method in descriptor.Methods)
        {
            var signature = HandlerSignature.For(method, ClrTypeOf(method, method.InputType), ClrTypeOf(method, method.OutputType));
            handlers.Add((signature, FindHandler(serviceType, signature, candidates)));
        }

        return new GrpcServiceDefinition(serviceType, descriptor, handlers);
    }

    public static string FullMethodName(MethodDescriptor method) => "/" + method.Service.FullName + "/" + method.Name;

    private static MethodInfo FindHandler(Type serviceType, HandlerSignature signature, MethodInfo[] candidates)
    {
        var sameName = 0;
        foreach (var candidate in candidates)
        {
            if (!string.Equals(candidate.Name, signature.Method.Name, StringComparison.Ordinal))
            {
                continue;
            }

            if (signature.Matches(candidate))
            {
                return candidate;
            }

            sameName++;
        }

        var problem = sameName == 0 ? "has no handler for" : "has a handler with the wrong signature for";
        throw new InvalidOperationException(
            $"gRPC service {signature.Method.Service.FullName}: {serviceType.FullName} {problem} method "
            + $"{signature.Method.Name} ({FullMethodName(signature.Method)}, {signature.Shape}); "
            + $"expected '{signature.Describe()}'.");
    }

    private static Type ClrTypeOf(MethodDescriptor method, MessageDescriptor message) =>
        message.ClrType ?? throw new InvalidOperationException(
            $"gRPC method {FullMethodName(method)}: message {message.FullName} has no generated C# type.");
}
