namespace CommsCredits.Grpc.Internal;

using System.Buffers;
using System.IO.Compression;
using CommsCredits.Grpc.Protocol;

/// <summary>
/// Decompresses a gzip message into a pooled buffer that never grows beyond the receive limit, so a small
/// compressed "bomb" cannot make us allocate more than a legitimate message of the largest allowed size.
/// </summary>
internal static class MessageDecompressor
{
    /// <summary>The first output buffer; it doubles as needed, up to the limit.</summary>
    private const int InitialBufferBytes = 4096;

    /// <summary>Checks the declared encoding of a message whose compressed flag is set; throws the status to send.</summary>
    public static void ValidateEncoding(in MessageReadSettings settings)
    {
        var encoding = settings.Encoding;
        if (string.IsNullOrEmpty(encoding) || string.Equals(encoding, GrpcProtocol.IdentityEncoding, StringComparison.Ordinal))
        {
            GrpcErrors.Throw(
                StatusCode.Internal,
                $"{settings.Direction} message has the compressed flag set but grpc-encoding is '{encoding ?? "absent"}'");
        }

        if (!string.Equals(encoding, GrpcProtocol.GzipEncoding, StringComparison.Ordinal))
        {
            GrpcErrors.Throw(
                settings.UnsupportedEncodingCode,
                $"{settings.Direction} message is compressed with unsupported grpc-encoding '{encoding}'; supported: {GrpcProtocol.SupportedEncodings}");
        }
    }

    /// <summary>
    /// Returns a rented buffer (the caller clears and returns it) holding the decompressed bytes in
    /// [0, length). The buffer never holds more than the limit: at the limit, one more byte is tried on a
    /// scratch byte to tell an exact fit from an oversized message.
    /// </summary>
    public static byte[] Decompress(byte[] compressed, int compressedLength, in MessageReadSettings settings, out int length)
    {
        var limit = settings.MaxMessageSizeBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBufferBytes, limit));
        length = 0;
        try
        {
            using var input = new MemoryStream(compressed, 0, compressedLength, writable: false);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            while (true)
            {
                var capacity = Math.Min(buffer.Length, limit);
                if (length == capacity && capacity < limit)
                {
                    buffer = Grow(buffer, length, limit);
                    continue;
                }

                var read = length == limit
                    ? ReadPastLimit(gzip, settings)
                    : gzip.Read(buffer, length, capacity - length);
                if (read == 0)
                {
                    return buffer;
                }

                length += read;
            }
        }
        catch (InvalidDataException exception)
        {
            Return(buffer, length);
            throw new RpcException(new Status(
                StatusCode.Internal,
                $"failed to decompress {settings.Direction} message: {exception.Message}"));
        }
        catch
        {
            Return(buffer, length);
            throw;
        }
    }

    public static void Return(byte[] buffer, int usedLength)
    {
        buffer.AsSpan(0, usedLength).Clear();
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private static int ReadPastLimit(GZipStream gzip, in MessageReadSettings settings)
    {
        Span<byte> scratch = stackalloc byte[1];
        if (gzip.Read(scratch) > 0)
        {
            GrpcErrors.Throw(
                StatusCode.ResourceExhausted,
                string.Create(
                    System.Globalization.CultureInfo.InvariantCulture,
                    $"decompressed {settings.Direction} message is larger than the limit of {settings.MaxMessageSizeBytes} bytes"));
        }

        return 0;
    }

    private static byte[] Grow(byte[] buffer, int usedLength, int maxLength)
    {
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxLength));
        buffer.AsSpan(0, usedLength).CopyTo(larger);
        Return(buffer, usedLength);
        return larger;
    }
}
