namespace CommsCredits.Grpc.Server.Internal;

using CommsCredits.Grpc.Protocol;

/// <summary>How a call ends: the status and extra trailers to send, or nothing when the client is gone.</summary>
internal readonly record struct CallOutcome(bool Send, Status Status, Metadata? Trailers)
{
    public static CallOutcome Ok { get; } = new(Send: true, Status.Ok, Trailers: null);

    public static CallOutcome ClientGone { get; } = new(Send: false, new Status(StatusCode.Cancelled, "cancelled by the client"), Trailers: null);
}
