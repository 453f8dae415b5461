namespace CommsCredits.Tests.Infrastructure;

/// <summary>A test server could not be started or reached; the message says why and quotes its log.</summary>
public sealed class ServerStartException : Exception
{
    public ServerStartException()
    {
    }

    public ServerStartException(string message)
        : base(message)
    {
    }

    public ServerStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
