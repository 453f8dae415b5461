namespace CommsCredits.Grpc.Server;

using Google.Protobuf;
using Google.Protobuf.Reflection;

/// <summary>
/// Decides whether a call may reach its handler (an API key check, say). Register implementations as singletons;
/// the server asks every one, in registration order, and with none registered every call goes through. To refuse,
/// throw an <see cref="Protocol.RpcException"/>: its status ends the call and the handler never runs. Any other
/// exception is treated like a handler's (mapped by an <see cref="IRpcExceptionMapper"/>, else UNKNOWN and logged).
/// Implementations sit on every call's path: answer synchronously when they can, and honour
/// <see cref="ServerCallContext.CancellationToken"/> (the call's deadline) when they cannot.
/// </summary>
public interface IRpcCallAuthorizer
{
    /// <summary>
    /// Called once per call, before the handler runs. For unary and server-streaming calls the request message has
    /// been read and is passed in; for client-streaming and bidirectional calls <paramref name="request"/> is null
    /// (only the metadata is known yet), and each message is checked by <see cref="AuthorizeStreamMessageAsync"/>.
    /// </summary>
    ValueTask AuthorizeCallAsync(MethodDescriptor method, ServerCallContext context, IMessage? request);

    /// <summary>
    /// Called for each request message of a client-streaming or bidirectional call (numbered from 1) after it is
    /// read and before the handler receives it. A refusal ends the call with its status: the handler's read throws
    /// it, and whatever the handler then does, the client gets the refusal.
    /// </summary>
    ValueTask AuthorizeStreamMessageAsync(MethodDescriptor method, ServerCallContext context, IMessage request, long messageNumber);
}
