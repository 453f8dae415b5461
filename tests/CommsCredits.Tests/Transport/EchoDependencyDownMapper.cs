namespace CommsCredits.Tests.Transport;

using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;

/// <summary>What the echo handler throws when a request asks it to act as if a dependency were down.</summary>
public sealed class EchoDependencyDownException(string message) : Exception(message);

/// <summary>The test server's exception mapper: a downed dependency is UNAVAILABLE, with the exception's text.</summary>
public sealed class EchoDependencyDownMapper : IRpcExceptionMapper
{
    public bool TryMap(Exception exception, out Status status)
    {
        status = exception is EchoDependencyDownException ? new Status(StatusCode.Unavailable, exception.Message) : default;
        return exception is EchoDependencyDownException;
    }
}
