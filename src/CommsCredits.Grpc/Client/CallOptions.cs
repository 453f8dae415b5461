namespace CommsCredits.Grpc.Client;

using CommsCredits.Grpc.Protocol;

/// <summary>
/// Per-call settings: request metadata, a deadline (UTC; sent as grpc-timeout and enforced locally too) and a
/// cancellation token (cancelling sends RST_STREAM, which cancels the server handler).
/// </summary>
public readonly record struct CallOptions(Metadata? Headers = null, DateTime? Deadline = null, CancellationToken CancellationToken = default);
