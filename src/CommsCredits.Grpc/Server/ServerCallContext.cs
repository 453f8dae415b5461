namespace CommsCredits.Grpc.Server;

using CommsCredits.Grpc.Protocol;

/// <summary>What a service handler knows about the call it serves, and where it puts response metadata.</summary>
public sealed class ServerCallContext
{
    public ServerCallContext(
        string method,
        string peer,
        DateTimeOffset? deadline,
        Metadata requestHeaders,
        CancellationToken cancellationToken)
    {
        Method = method;
        Peer = peer;
        Deadline = deadline;
        RequestHeaders = requestHeaders;
        CancellationToken = cancellationToken;
    }

    /// <summary>The full method name, "/package.Service/Method".</summary>
    public string Method { get; }

    /// <summary>The client's address, "ipv4:127.0.0.1:40000" style.</summary>
    public string Peer { get; }

    /// <summary>When the client's grpc-timeout runs out, if it sent one.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>Cancelled when the deadline passes or the client cancels the call.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Custom metadata the client sent (reserved and pseudo-headers removed, "-bin" values decoded).</summary>
    public Metadata RequestHeaders { get; }

    /// <summary>Metadata sent in the response headers, before the first message.</summary>
    public Metadata ResponseHeaders { get; } = new();

    /// <summary>Metadata sent in the trailers, with the status.</summary>
    public Metadata ResponseTrailers { get; } = new();
}
