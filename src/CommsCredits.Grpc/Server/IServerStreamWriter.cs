namespace CommsCredits.Grpc.Server;

/// <summary>
/// Where a streaming handler writes its responses. Each message is sent (flushed) before the returned task
/// completes; one write at a time. Writes fail once the call has ended (handler returned, deadline passed, or
/// the client cancelled).
/// </summary>
public interface IServerStreamWriter<in T>
{
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
