namespace CommsCredits.Grpc.Server;

using CommsCredits.Grpc.Protocol;

/// <summary>
/// Told of every gRPC request the server answered, once, when its handling ends (metrics, say). Register
/// implementations as singletons; with none registered the server measures nothing. Implementations sit on every
/// call's path: they must be cheap, must not block and must not throw.
/// </summary>
public interface IRpcCallObserver
{
    /// <summary>
    /// A request ended. <paramref name="method"/> is the full name ("/package.Service/Method") of a bound method, or
    /// null for a request to any other path, so that made-up paths cannot grow an observer's label sets.
    /// <paramref name="status"/> is the status sent; CANCELLED when the client went away before one could be, and
    /// UNKNOWN when the request was refused at the HTTP level (not HTTP/2, not a gRPC content type).
    /// </summary>
    void CallEnded(string? method, StatusCode status, TimeSpan elapsed);
}
