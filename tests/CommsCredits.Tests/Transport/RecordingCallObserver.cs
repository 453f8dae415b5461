namespace CommsCredits.Tests.Transport;

using System.Collections.Concurrent;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;

/// <summary>An <see cref="IRpcCallObserver"/> that keeps what it was told, for the transport tests.</summary>
public sealed class RecordingCallObserver : IRpcCallObserver
{
    private readonly ConcurrentQueue<(string? Method, StatusCode Status, TimeSpan Elapsed)> calls = new();

    public IReadOnlyCollection<(string? Method, StatusCode Status, TimeSpan Elapsed)> Calls => calls;

    public void CallEnded(string? method, StatusCode status, TimeSpan elapsed) => calls.Enqueue((method, status, elapsed));

    public void Clear() => calls.Clear();
}
