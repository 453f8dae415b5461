namespace CommsCredits.Gateway.Reports;

using CommsCredits.Grpc.Protocol;
using Microsoft.Extensions.Options;

/// <summary>Counts the exports running on this gateway, at most Reports:MaxConcurrentExports.</summary>
public sealed class ExportSlots(IOptions<ReportsOptions> options)
{
    private readonly int max = options.Value.MaxConcurrentExports;
    private int running;

    /// <summary>Takes a slot, released by disposing; RESOURCE_EXHAUSTED when none is free.</summary>
    public Slot Take()
    {
        if (Interlocked.Increment(ref running) > max)
        {
            Interlocked.Decrement(ref running);
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"too many exports running (Reports:MaxConcurrentExports is {max}); retry later"));
        }

        return new Slot(this);
    }

    public readonly struct Slot(ExportSlots owner) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref owner.running);
    }
}
