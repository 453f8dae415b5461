namespace CommsCredits.Tests.Transport;

using CommsCredits.Grpc.Server.Internal;
using Shouldly;
using Xunit;

/// <summary>The gate that keeps a handler away from its call's streams once the call has ended.</summary>
public sealed class StreamGateTests
{
    [Fact]
    public void Closed_gate_refuses_operations()
    {
        // Proves that after the call ends, reads and writes fail without touching the streams: with an
        // OperationCanceledException after a deadline or cancellation, an InvalidOperationException otherwise.
        var finished = new StreamGate();
        finished.CloseAsync(byCancellation: false).IsCompleted.ShouldBeTrue();
        Should.Throw<InvalidOperationException>(() => finished.Enter(write: true, CancellationToken.None));

        var cancelled = new StreamGate();
        cancelled.CloseAsync(byCancellation: true).IsCompleted.ShouldBeTrue();
        Should.Throw<OperationCanceledException>(() => cancelled.Enter(write: false, CancellationToken.None));
    }

    [Fact]
    public async Task Closing_waits_for_operations_in_flight()
    {
        // Proves the dispatcher's close completes only when the last operation in flight has left the gate.
        var gate = new StreamGate();
        gate.Enter(write: true, CancellationToken.None);
        gate.Enter(write: false, CancellationToken.None);
        var closing = gate.CloseAsync(byCancellation: true);

        closing.IsCompleted.ShouldBeFalse();
        gate.Exit(write: true);
        closing.IsCompleted.ShouldBeFalse();
        gate.Exit(write: false);
        await closing.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Only_one_read_and_one_write_may_be_pending()
    {
        // Proves the gRPC rule of one pending write and one pending read, while a read and a write may overlap.
        var gate = new StreamGate();
        gate.Enter(write: true, CancellationToken.None);
        gate.Enter(write: false, CancellationToken.None);

        Should.Throw<InvalidOperationException>(() => gate.Enter(write: true, CancellationToken.None));
        Should.Throw<InvalidOperationException>(() => gate.Enter(write: false, CancellationToken.None));
        gate.Exit(write: true);
        gate.Enter(write: true, CancellationToken.None);
    }
}
