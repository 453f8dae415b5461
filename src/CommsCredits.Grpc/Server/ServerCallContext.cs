namespace CommsCredits.Grpc.Server;

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CommsCredits.Grpc.Protocol;

/// <summary>What a service handler knows about the call it serves, and where it puts response metadata.</summary>
public sealed class ServerCallContext
{
    private readonly IPAddress? remoteAddress;
    private readonly int remotePort;
    private string? peer;
    private Metadata? responseHeaders;
    private Metadata? responseTrailers;

    public ServerCallContext(
        string method,
        string peer,
        DateTimeOffset? deadline,
        Metadata requestHeaders,
        CancellationToken cancellationToken)
    {
        Method = method;
        this.peer = peer;
        Deadline = deadline;
        RequestHeaders = requestHeaders;
        CancellationToken = cancellationToken;
    }

    /// <summary>
    /// The dispatcher's constructor: the peer text is formatted only if a handler asks for it, since most never
    /// do and the server should not pay for a string per call.
    /// </summary>
    internal ServerCallContext(
        string method,
        IPAddress? remoteAddress,
        int remotePort,
        DateTimeOffset? deadline,
        Metadata requestHeaders,
        CancellationToken cancellationToken)
    {
        Method = method;
        this.remoteAddress = remoteAddress;
        this.remotePort = remotePort;
        Deadline = deadline;
        RequestHeaders = requestHeaders;
        CancellationToken = cancellationToken;
    }

    /// <summary>The full method name, "/package.Service/Method".</summary>
    public string Method { get; }

    /// <summary>The client's address, "ipv4:127.0.0.1:40000" style.</summary>
    public string Peer => peer ??= FormatPeer(remoteAddress, remotePort);

    /// <summary>When the client's grpc-timeout runs out, if it sent one.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>
    /// Cancelled when the deadline passes or the client cancels the call (and, for a streaming call, when it
    /// ends). Valid only while the call lasts: do not hand it to work that outlives the call.
    /// </summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Custom metadata the client sent (reserved and pseudo-headers removed, "-bin" values decoded).</summary>
    public Metadata RequestHeaders { get; }

    /// <summary>
    /// Metadata sent in the response headers, before the first message. Entries added after the first message
    /// of a streaming call was written are not sent.
    /// </summary>
    public Metadata ResponseHeaders => responseHeaders ??= new Metadata();

    /// <summary>Metadata sent in the trailers, with the status.</summary>
    public Metadata ResponseTrailers => responseTrailers ??= new Metadata();

    /// <summary>
    /// A state the transport opens as a logging scope (<c>ILogger.BeginScope</c>) around what it logs about the end of
    /// this call: a handler failure (also one that comes after the call was abandoned), a status the handler ended it
    /// with, a deadline or a client gone. A handler sets it to name what it serves (a session, a tenant), which the
    /// transport cannot know; the handler's own scopes have ended by the time the transport logs. Null: no scope.
    /// </summary>
    public object? LogScope { get; set; }

    /// <summary>The response headers if a handler created any, without creating them.</summary>
    internal Metadata? ResponseHeadersOrNull => responseHeaders;

    /// <summary>The response trailers if a handler created any, without creating them.</summary>
    internal Metadata? ResponseTrailersOrNull => responseTrailers;

    private static string FormatPeer(IPAddress? address, int port)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? string.Create(CultureInfo.InvariantCulture, $"ipv6:[{address}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"ipv4:{address}:{port}");
    }
}
