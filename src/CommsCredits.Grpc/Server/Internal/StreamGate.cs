namespace CommsCredits.Grpc.Server.Internal;

/// <summary>
/// Guards the request and response streams of a streaming call against a handler that outlives it. Every read
/// and write enters the gate; when the call ends, the dispatcher closes the gate and waits until operations in
/// flight have left (they are cancelled first, so they leave promptly). After that no handler code can reach the
/// HttpContext, which Kestrel reuses for later requests. It also enforces gRPC's one read and one write at a time.
/// </summary>
internal sealed class StreamGate
{
    private readonly Lock sync = new();
    private int activeOperations;
    private bool readPending;
    private bool writePending;
    private bool closed;
    private bool closedByCancellation;
    private TaskCompletionSource? drained;

    /// <summary>Enters for one read or write; throws if the call has ended or the same kind is already pending.</summary>
    public void Enter(bool write, CancellationToken callToken)
    {
        lock (sync)
        {
            if (closed)
            {
                if (closedByCancellation)
                {
                    throw new OperationCanceledException("the call was cancelled or its deadline passed", callToken);
                }

                throw new InvalidOperationException("the call has ended: its handler already returned");
            }

            if (write ? writePending : readPending)
            {
                throw new InvalidOperationException(write
                    ? "only one write may be pending at a time; await the previous WriteAsync"
                    : "only one read may be pending at a time; await the previous MoveNext");
            }

            SetPending(write, pending: true);
            activeOperations++;
        }
    }

    public void Exit(bool write)
    {
        TaskCompletionSource? signal = null;
        lock (sync)
        {
            SetPending(write, pending: false);
            activeOperations--;
            if (closed && activeOperations == 0)
            {
                signal = drained;
            }
        }

        signal?.TrySetResult();
    }

    /// <summary>Closes the gate; the task completes when no operation is in flight any more.</summary>
    public Task CloseAsync(bool byCancellation)
    {
        lock (sync)
        {
            closed = true;
            closedByCancellation = byCancellation;
            if (activeOperations == 0)
            {
                return Task.CompletedTask;
            }

            drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return drained.Task;
        }
    }

    private void SetPending(bool write, bool pending)
    {
        if (write)
        {
            writePending = pending;
        }
        else
        {
            readPending = pending;
        }
    }
}
