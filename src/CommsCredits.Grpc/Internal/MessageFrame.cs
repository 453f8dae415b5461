namespace CommsCredits.Grpc.Internal;

using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

/// <summary>
/// The Length-Prefixed-Message of PROTOCOL-HTTP2.md: a compressed flag byte, a 4-byte big-endian length, then
/// the message bytes.
/// </summary>
internal static class MessageFrame
{
    public const int HeaderLength = 5;

    public static void WriteHeader(Span<byte> destination, bool compressed, int length)
    {
        destination[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..HeaderLength], (uint)length);
    }

    /// <summary>Reads the header at the start of the buffer; false when fewer than 5 bytes have arrived.</summary>
    public static bool TryReadHeader(in ReadOnlySequence<byte> buffer, out byte compressedFlag, out uint length)
    {
        compressedFlag = 0;
        length = 0;
        if (buffer.Length < HeaderLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        compressedFlag = header[0];
        length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        return true;
    }

    /// <summary>Writes one uncompressed frame whose message size the caller has already computed.</summary>
    public static void Write(IBufferWriter<byte> writer, IMessage message, int size)
    {
        var header = writer.GetSpan(HeaderLength);
        WriteHeader(header, compressed: false, size);
        writer.Advance(HeaderLength);
        if (size > 0)
        {
            message.WriteTo(writer);
        }
    }
}
