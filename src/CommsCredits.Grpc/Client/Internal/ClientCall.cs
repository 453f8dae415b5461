namespace CommsCredits.Grpc.Client.Internal;

using System.Net.Http;
using CommsCredits.Grpc.Protocol;

/// <summary>
/// The deadline and cancellation of one client call, and how failures of the HTTP layer become statuses.
/// The deadline is enforced here as well as sent: the call fails with DEADLINE_EXCEEDED when it runs out,
/// whatever the server does.
/// </summary>
internal sealed class ClientCall : IDisposable
{
    /// <summary>CancelAfter takes at most uint.MaxValue - 1 milliseconds (about 49.7 days); longer is no deadline.</summary>
    private static readonly TimeSpan MaxTimerTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly CancellationTokenSource? cancellation;
    private readonly CancellationToken userToken;
    private readonly DateTime? deadlineUtc;

    public ClientCall(in CallOptions options, bool cancellable)
    {
        userToken = options.CancellationToken;
        if (options.Deadline is { } deadline)
        {
            var utc = deadline.Kind == DateTimeKind.Local ? deadline.ToUniversalTime() : deadline;
            var timeout = utc - DateTime.UtcNow;
            if (timeout <= MaxTimerTimeout)
            {
                deadlineUtc = utc;
                Timeout = timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero;
            }
        }

        if (Timeout is not null || cancellable)
        {
            cancellation = userToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(userToken)
                : new CancellationTokenSource();
            if (Timeout is { } timeout)
            {
                cancellation.CancelAfter(timeout);
            }
        }

        Token = cancellation?.Token ?? userToken;
    }

    /// <summary>What remains of the deadline when the call starts; null without one.</summary>
    public TimeSpan? Timeout { get; }

    public CancellationToken Token { get; }

    public bool DeadlineExpired => deadlineUtc is { } deadline && DateTime.UtcNow >= deadline;

    /// <summary>Ends the call from our side (a streaming call disposed before its end).</summary>
    public void Cancel() => cancellation?.Cancel();

    public void ThrowIfDeadlineExpired()
    {
        if (Timeout == TimeSpan.Zero)
        {
            throw DeadlineExceeded();
        }
    }

    /// <summary>
    /// Turns what HttpClient threw into the status of the call. A cancelled call was cancelled by the caller or
    /// ran out of time (PROTOCOL-HTTP2.md: prefer DEADLINE_EXCEEDED once the deadline has passed); a refused or
    /// failed connection is UNAVAILABLE; a reset stream maps by its HTTP/2 error code.
    /// </summary>
    public RpcException MapException(Exception exception)
    {
        if (exception is RpcException rpc)
        {
            return rpc;
        }

        if (userToken.IsCancellationRequested)
        {
            return new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled by the caller"));
        }

        if (DeadlineExpired || (Timeout is not null && cancellation!.IsCancellationRequested))
        {
            return DeadlineExceeded();
        }

        var protocolError = FindProtocolException(exception);
        if (protocolError is not null)
        {
            return new RpcException(new Status(StatusForResetCode(protocolError.ErrorCode), protocolError.Message));
        }

        return exception switch
        {
            HttpRequestException or IOException => new RpcException(new Status(StatusCode.Unavailable, exception.Message)),
            OperationCanceledException => new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled")),
            _ => new RpcException(new Status(StatusCode.Unknown, exception.Message)),
        };
    }

    public void Dispose() => cancellation?.Dispose();

    /// <summary>The RST_STREAM error code table of PROTOCOL-HTTP2.md.</summary>
    internal static StatusCode StatusForResetCode(long errorCode) => errorCode switch
    {
        0x7 => StatusCode.Unavailable,
        0x8 => StatusCode.Cancelled,
        0xB => StatusCode.ResourceExhausted,
        0xC => StatusCode.PermissionDenied,
        _ => StatusCode.Internal,
    };

    private static RpcException DeadlineExceeded() => new(new Status(StatusCode.DeadlineExceeded, "deadline exceeded"));

    private static HttpProtocolException? FindProtocolException(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 8; depth++)
        {
            if (exception is HttpProtocolException protocolException)
            {
                return protocolException;
            }

            exception = exception.InnerException;
        }

        return null;
    }
}
