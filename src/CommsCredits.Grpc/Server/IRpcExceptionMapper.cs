namespace CommsCredits.Grpc.Server;

using CommsCredits.Grpc.Protocol;

/// <summary>
/// Turns an application exception that a handler let escape into a status the client can act on (a storage outage
/// into UNAVAILABLE, say), so that every handler need not catch it. Register implementations as singletons; the
/// server asks them in registration order before it answers UNKNOWN. An RpcException and a passed deadline never
/// reach them.
/// </summary>
public interface IRpcExceptionMapper
{
    /// <summary>True, with the status to send, when this mapper knows the exception.</summary>
    bool TryMap(Exception exception, out Status status);
}
