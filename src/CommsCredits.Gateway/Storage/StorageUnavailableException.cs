namespace CommsCredits.Gateway.Storage;

/// <summary>
/// Redis or PostgreSQL could not do what a request needed (down, too slow, queue full). The request was not
/// acknowledged; the client may retry it as it is. Mapped to gRPC UNAVAILABLE.
/// </summary>
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
