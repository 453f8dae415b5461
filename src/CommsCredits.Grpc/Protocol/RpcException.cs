namespace CommsCredits.Grpc.Protocol;

/// <summary>
/// A call that ended with a status other than OK. A server handler throws it to answer with that status;
/// the client throws it when the server answered with one.
/// </summary>
public sealed class RpcException : Exception
{
    public RpcException(Status status)
        : this(status, new Metadata())
    {
    }

    public RpcException(Status status, Metadata trailers)
        : base(status.ToString())
    {
        Status = status;
        Trailers = trailers;
    }

    public RpcException()
        : this(new Status(StatusCode.Unknown, string.Empty))
    {
    }

    public RpcException(string message)
        : this(new Status(StatusCode.Unknown, message))
    {
    }

    public RpcException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = new Status(StatusCode.Unknown, message);
        Trailers = new Metadata();
    }

    public Status Status { get; }

    public StatusCode StatusCode => Status.Code;

    /// <summary>Trailing metadata sent with the status (server side: added to the response trailers).</summary>
    public Metadata Trailers { get; }
}
