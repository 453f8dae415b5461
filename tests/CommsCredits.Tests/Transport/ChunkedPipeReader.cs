namespace CommsCredits.Tests.Transport;

using System.Buffers;
using System.IO.Pipelines;

/// <summary>
/// A PipeReader that hands out a body in fixed chunks, the way data arrives from a network: a read returns one
/// more chunk only once everything returned before has been examined, and the buffer keeps one segment per
/// chunk. A Pipe written from another task cannot promise that, since the writer may run ahead of the reader.
/// </summary>
public sealed class ChunkedPipeReader(byte[] body, IReadOnlyList<int> chunkSizes) : PipeReader
{
    private readonly List<ReadOnlyMemory<byte>> unconsumed = [];
    private ReadOnlySequence<byte> current;
    private int position;
    private int chunk;
    private bool examinedAll = true;

    /// <summary>How many reads returned data: more than one proves the body really was split.</summary>
    public int Reads { get; private set; }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        TryRead(out var result);
        return ValueTask.FromResult(result);
    }

    public override bool TryRead(out ReadResult result)
    {
        if (examinedAll && position < body.Length)
        {
            var size = Math.Min(chunkSizes[chunk++ % chunkSizes.Count], body.Length - position);
            unconsumed.Add(body.AsMemory(position, size));
            position += size;
        }

        current = Build(unconsumed);
        examinedAll = false;
        Reads++;
        result = new ReadResult(current, isCanceled: false, isCompleted: position >= body.Length);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        var consumedBytes = current.Slice(current.Start, consumed).Length;
        examinedAll = current.Slice(examined).IsEmpty;
        while (consumedBytes > 0)
        {
            var first = unconsumed[0];
            if (first.Length <= consumedBytes)
            {
                consumedBytes -= first.Length;
                unconsumed.RemoveAt(0);
            }
            else
            {
                unconsumed[0] = first[(int)consumedBytes..];
                consumedBytes = 0;
            }
        }
    }

    public override void CancelPendingRead()
    {
    }

    public override void Complete(Exception? exception = null)
    {
    }

    private static ReadOnlySequence<byte> Build(List<ReadOnlyMemory<byte>> pieces)
    {
        if (pieces.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(pieces[0], runningIndex: 0);
        var last = first;
        for (var index = 1; index < pieces.Count; index++)
        {
            last = last.Append(pieces[index]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
