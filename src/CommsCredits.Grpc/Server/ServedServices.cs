namespace CommsCredits.Grpc.Server;

using CommsCredits.Grpc.Server.Internal;
using ProtoServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

/// <summary>
/// The proto services the server serves (every one added with AddGrpcService), in the order they were added: what
/// a server reflection or health service needs to know about its server.
/// </summary>
public sealed class ServedServices
{
    internal ServedServices(IEnumerable<GrpcServiceDefinition> definitions)
    {
        Descriptors = definitions.Select(definition => definition.Descriptor).ToArray();
    }

    public IReadOnlyList<ProtoServiceDescriptor> Descriptors { get; }
}
