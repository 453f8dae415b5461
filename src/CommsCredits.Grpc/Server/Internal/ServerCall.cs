namespace CommsCredits.Grpc.Server.Internal;

using System.IO.Pipelines;
using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

/// <summary>
/// One call on the server: its deadline and cancellation, its request and response streams, and the rules for
/// ending it. Only the dispatcher and the stream reader and writer touch the HttpContext, and only while the
/// call is live: a handler that outlives its call (deadline) is abandoned and can no longer reach it.
/// </summary>
internal sealed partial class ServerCall : IDisposable
{
    /// <summary>CancelAfter takes at most uint.MaxValue - 1 milliseconds (about 49.7 days).</summary>
    private static readonly TimeSpan MaxTimerTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly HttpContext httpContext;
    private readonly ServerMethod method;
    private readonly CancellationTokenSource? cancellation;
    private readonly CancellationToken requestAborted;
    private readonly MessageReadSettings readSettings;
    private bool responseStarted;
    private bool handlerAbandoned;
    private volatile bool clientGone;

    private ServerCall(HttpContext httpContext, ServerMethod method, TimeSpan? timeout, Metadata requestHeaders, string? encoding)
    {
        this.httpContext = httpContext;
        this.method = method;
        requestAborted = httpContext.RequestAborted;
        var hasDeadline = timeout is { } value && value <= MaxTimerTimeout;
        DateTimeOffset? deadline = hasDeadline ? DateTimeOffset.UtcNow + timeout!.Value : null;

        // A unary call without deadline needs no token of its own: the client's RST_STREAM is all that cancels it.
        if (hasDeadline || method.Shape != MethodShape.Unary)
        {
            cancellation = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
            if (hasDeadline)
            {
                cancellation.CancelAfter(timeout!.Value);
            }
        }

        CancellationToken = cancellation?.Token ?? requestAborted;
        Gate = method.Shape == MethodShape.Unary ? null : new StreamGate();
        var connection = httpContext.Connection;
        Context = new ServerCallContext(method.FullName, connection.RemoteIpAddress, connection.RemotePort, deadline, requestHeaders, CancellationToken);
        readSettings = new MessageReadSettings(method.Runtime.MaxReceiveMessageSizeBytes, encoding, "request", StatusCode.Unimplemented);
        RequestBody = httpContext.Request.BodyReader;
    }

    public ServerCallContext Context { get; }

    /// <summary>The handler's token: cancelled by the deadline, by the client, or when a streaming call ends.</summary>
    public CancellationToken CancellationToken { get; }

    public ServerMethod Method => method;

    /// <summary>Present for streaming calls only.</summary>
    public StreamGate? Gate { get; }

    private PipeReader RequestBody { get; }

    /// <summary>Records that the client is gone although RequestAborted may not have fired yet (Kestrel fires it later).</summary>
    public void MarkClientGone() => clientGone = true;

    /// <summary>Parses the call's headers; on a protocol error answers Trailers-Only and returns null.</summary>
    public static ServerCall? TryStart(HttpContext httpContext, ServerMethod method)
    {
        var headers = httpContext.Request.Headers;
        TimeSpan? timeout = null;
        var timeoutText = headers.GrpcTimeout;
        if (timeoutText.Count > 0)
        {
            if (timeoutText.Count > 1 || !GrpcTimeout.TryParse(timeoutText[0], out var parsed))
            {
                return Reject(httpContext, method, new Status(StatusCode.Internal, $"invalid grpc-timeout '{timeoutText}'"));
            }

            timeout = parsed;
        }

        var requestHeaders = new Metadata();
        var invalidKey = ReadMetadata(headers, requestHeaders);
        if (invalidKey is not null)
        {
            return Reject(httpContext, method, new Status(StatusCode.Internal, $"metadata '{invalidKey}' is not valid base64"));
        }

        if (timeout == TimeSpan.Zero)
        {
            return Reject(httpContext, method, new Status(StatusCode.DeadlineExceeded, "deadline exceeded"));
        }

        RelaxRequestLimits(httpContext, method.Shape);
        return new ServerCall(httpContext, method, timeout, requestHeaders, headers.GrpcEncoding);
    }

    public void Dispose() => cancellation?.Dispose();

    /// <summary>Custom metadata from the request headers; returns the key of a "-bin" value that is not base64.</summary>
    private static string? ReadMetadata(IHeaderDictionary headers, Metadata metadata)
    {
        foreach (var header in headers)
        {
            foreach (var value in header.Value)
            {
                if (MetadataEncoding.TryAdd(metadata, header.Key, value) == MetadataEncoding.AddResult.InvalidBinary)
                {
                    return header.Key;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Messages are bounded one by one, so Kestrel's whole-body limit (30 MB by default) would only cut long
    /// streams short; a streaming client may also pause between messages, which Kestrel's minimum data rate
    /// would punish. Unary bodies keep the data rate check: they should arrive at once.
    /// </summary>
    private static void RelaxRequestLimits(HttpContext httpContext, MethodShape shape)
    {
        var bodySize = httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false })
        {
            bodySize.MaxRequestBodySize = null;
        }

        if (shape is MethodShape.ClientStreaming or MethodShape.DuplexStreaming
            && httpContext.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } dataRate)
        {
            dataRate.MinDataRate = null;
        }
    }

    private static ServerCall? Reject(HttpContext httpContext, ServerMethod method, in Status status)
    {
        GrpcServerLog.ProtocolError(method.Runtime.Logger, method.FullName, status.Code, status.Detail);
        GrpcResponse.WriteTrailersOnly(httpContext.Response, status);
        return null;
    }
}
