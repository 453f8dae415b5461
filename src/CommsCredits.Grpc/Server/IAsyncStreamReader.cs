namespace CommsCredits.Grpc.Server;

using System.Runtime.CompilerServices;

/// <summary>
/// The request messages of a client-streaming or bidirectional call, one at a time. Use
/// <c>await foreach (var request in requests.ReadAllAsync(token))</c>, or <see cref="MoveNext"/> and
/// <see cref="Current"/>. A protocol error in the stream (oversized or unparseable message) surfaces as an
/// <see cref="Protocol.RpcException"/> with the status the call should end with.
/// </summary>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message read by the last successful <see cref="MoveNext"/>.</summary>
    T Current { get; }

    /// <summary>Reads the next message; false when the client has finished sending.</summary>
    Task<bool> MoveNext(CancellationToken cancellationToken = default);
}

/// <summary>The IAsyncEnumerable view of an <see cref="IAsyncStreamReader{T}"/>.</summary>
public static class AsyncStreamReaderExtensions
{
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(
        this IAsyncStreamReader<T> reader,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.Current;
        }
    }
}
