namespace CommsCredits.Grpc.Internal;

using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;

/// <summary>
/// Reads Length-Prefixed-Messages from a pipe, however the peer split them across DATA frames. The declared
/// length is checked against the limit before anything is buffered. A message that has fully arrived is parsed
/// straight from the pipe's memory; one still arriving is copied into a pooled buffer as it comes, so the pipe
/// drains and HTTP/2 flow control keeps moving whatever the message size.
/// </summary>
internal static class PipeMessageReader
{
    /// <summary>Reads the next message; null when the stream ended cleanly between messages.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<T?> ReadAsync<T>(
        PipeReader reader,
        MessageParser<T> parser,
        MessageReadSettings settings,
        CancellationToken cancellationToken)
        where T : IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (!MessageFrame.TryReadHeader(buffer, out var flag, out var declaredLength))
            {
                ThrowIfCanceled(reader, result, cancellationToken);
                if (result.IsCompleted)
                {
                    reader.AdvanceTo(buffer.End);
                    return buffer.IsEmpty ? default : ThrowIncomplete<T>(settings);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            var compressed = ValidateHeader(reader, buffer, flag, declaredLength, settings);
            var length = (int)declaredLength;
            if (buffer.Length >= MessageFrame.HeaderLength + length)
            {
                return ParseBuffered(reader, buffer, length, compressed, parser, settings);
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                return ThrowIncomplete<T>(settings);
            }

            return await ReadSpanningAsync(reader, buffer, length, compressed, parser, settings, cancellationToken)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Checks the flag, the length and the encoding; the reader is advanced before any throw.</summary>
    private static bool ValidateHeader(
        PipeReader reader,
        in ReadOnlySequence<byte> buffer,
        byte flag,
        uint declaredLength,
        in MessageReadSettings settings)
    {
        try
        {
            if (flag > 1)
            {
                GrpcErrors.Throw(StatusCode.Internal, $"{settings.Direction} message has an invalid compressed flag {flag}");
            }

            if (declaredLength > (uint)settings.MaxMessageSizeBytes)
            {
                GrpcErrors.ThrowMessageTooLarge(settings.Direction, declaredLength, settings.MaxMessageSizeBytes);
            }

            if (flag == 1)
            {
                MessageDecompressor.ValidateEncoding(settings);
            }

            return flag == 1;
        }
        catch
        {
            reader.AdvanceTo(buffer.Start, buffer.End);
            throw;
        }
    }

    private static T ParseBuffered<T>(
        PipeReader reader,
        in ReadOnlySequence<byte> buffer,
        int length,
        bool compressed,
        MessageParser<T> parser,
        in MessageReadSettings settings)
        where T : IMessage<T>
    {
        var payload = buffer.Slice(MessageFrame.HeaderLength, length);
        try
        {
            if (!compressed)
            {
                return Parse(parser, payload, settings);
            }

            var copy = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                payload.CopyTo(copy);
                return ParseCompressed(parser, copy, length, settings);
            }
            finally
            {
                MessageDecompressor.Return(copy, length);
            }
        }
        finally
        {
            reader.AdvanceTo(payload.End);
        }
    }

    private static async ValueTask<T> ReadSpanningAsync<T>(
        PipeReader reader,
        ReadOnlySequence<byte> buffer,
        int length,
        bool compressed,
        MessageParser<T> parser,
        MessageReadSettings settings,
        CancellationToken cancellationToken)
        where T : IMessage<T>
    {
        var rented = ArrayPool<byte>.Shared.Rent(length);
        var copied = 0;
        try
        {
            var available = buffer.Slice(MessageFrame.HeaderLength);
            available.CopyTo(rented);
            copied = (int)available.Length;
            reader.AdvanceTo(buffer.End);
            while (copied < length)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var next = result.Buffer;
                var take = (int)Math.Min(next.Length, length - copied);
                next.Slice(0, take).CopyTo(rented.AsSpan(copied));
                copied += take;
                reader.AdvanceTo(next.GetPosition(take));
                if (copied < length)
                {
                    ThrowIfCanceled(reader: null, result, cancellationToken);
                    if (result.IsCompleted)
                    {
                        ThrowIncomplete<T>(settings);
                    }
                }
            }

            return compressed
                ? ParseCompressed(parser, rented, length, settings)
                : Parse(parser, new ReadOnlySequence<byte>(rented, 0, length), settings);
        }
        finally
        {
            MessageDecompressor.Return(rented, copied);
        }
    }

    private static T ParseCompressed<T>(MessageParser<T> parser, byte[] compressed, int compressedLength, in MessageReadSettings settings)
        where T : IMessage<T>
    {
        var decompressed = MessageDecompressor.Decompress(compressed, compressedLength, settings, out var length);
        try
        {
            return Parse(parser, new ReadOnlySequence<byte>(decompressed, 0, length), settings);
        }
        finally
        {
            MessageDecompressor.Return(decompressed, length);
        }
    }

    private static T Parse<T>(MessageParser<T> parser, in ReadOnlySequence<byte> payload, in MessageReadSettings settings)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException exception)
        {
            GrpcErrors.ThrowUnparseable(settings.Direction, exception.Message);
            return default!;
        }
        catch (Exception exception) when (exception is ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            // Google.Protobuf does not always say InvalidProtocolBufferException: a message field declaring 2^31 - 1
            // bytes overflows its limit arithmetic, and a field inside that runs past the end then throws
            // ArgumentOutOfRangeException (found by tests/CommsCredits.Tests/Fuzzing). It is the sender's bad bytes,
            // not a server failure: the same INTERNAL, without the runtime's exception text.
            GrpcErrors.ThrowUnparseable(settings.Direction, "a length or size in it is out of range");
            return default!;
        }
    }

    /// <summary>A read cancelled through CancelPendingRead: reported like a cancelled token.</summary>
    private static void ThrowIfCanceled(PipeReader? reader, in ReadResult result, CancellationToken cancellationToken)
    {
        if (!result.IsCanceled)
        {
            return;
        }

        reader?.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        throw new OperationCanceledException("the read was cancelled", cancellationToken);
    }

    private static T ThrowIncomplete<T>(in MessageReadSettings settings)
    {
        GrpcErrors.ThrowIncompleteMessage(settings.Direction);
        return default;
    }
}
