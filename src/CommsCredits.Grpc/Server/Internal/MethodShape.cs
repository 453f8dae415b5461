namespace CommsCredits.Grpc.Server.Internal;

/// <summary>The four call types of gRPC, from a method's streaming flags.</summary>
internal enum MethodShape
{
    Unary,
    ServerStreaming,
    ClientStreaming,
    DuplexStreaming,
}
