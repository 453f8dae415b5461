namespace CommsCredits.Grpc.Internal;

using System.Buffers;
using System.Text;

/// <summary>
/// The percent-encoding of grpc-message (PROTOCOL-HTTP2.md, Status-Message): the UTF-8 bytes of the text, where
/// every byte outside 0x20-0x7E and the '%' itself is written as "%XX" with upper-case hex digits.
/// </summary>
internal static class PercentEncoding
{
    /// <summary>Above this many bytes the scratch buffers come from the pool instead of the stack.</summary>
    private const int StackLimitBytes = 256;

    public static string Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!NeedsEncoding(text))
        {
            return text;
        }

        var byteCount = Encoding.UTF8.GetByteCount(text);
        byte[]? rentedBytes = null;
        var bytes = byteCount <= StackLimitBytes
            ? stackalloc byte[StackLimitBytes]
            : (rentedBytes = ArrayPool<byte>.Shared.Rent(byteCount));
        bytes = bytes[..Encoding.UTF8.GetBytes(text, bytes)];
        try
        {
            return EncodeBytes(bytes);
        }
        finally
        {
            if (rentedBytes is not null)
            {
                ArrayPool<byte>.Shared.Return(rentedBytes);
            }
        }
    }

    /// <summary>
    /// Decodes leniently, as the spec requires: a broken "%" sequence is kept as it is, and bytes that are not
    /// valid UTF-8 become U+FFFD; decoding never fails.
    /// </summary>
    public static string Decode(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (!encoded.Contains('%', StringComparison.Ordinal))
        {
            return encoded;
        }

        // Every character yields at most 3 UTF-8 bytes (characters outside ASCII are not valid on the wire,
        // but they are kept rather than rejected).
        var maxBytes = encoded.Length * 3;
        byte[]? rented = null;
        var bytes = maxBytes <= StackLimitBytes
            ? stackalloc byte[StackLimitBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var length = DecodeToBytes(encoded, bytes);
            return Encoding.UTF8.GetString(bytes[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool NeedsEncoding(string text)
    {
        foreach (var character in text)
        {
            if (character is < ' ' or > '~' or '%')
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsUnreserved(byte value) => value is >= 0x20 and <= 0x7E and not (byte)'%';

    private static string EncodeBytes(ReadOnlySpan<byte> bytes)
    {
        var length = 0;
        foreach (var value in bytes)
        {
            length += IsUnreserved(value) ? 1 : 3;
        }

        char[]? rented = null;
        var characters = length <= StackLimitBytes
            ? stackalloc char[StackLimitBytes]
            : (rented = ArrayPool<char>.Shared.Rent(length));
        var position = 0;
        foreach (var value in bytes)
        {
            if (IsUnreserved(value))
            {
                characters[position++] = (char)value;
                continue;
            }

            characters[position++] = '%';
            characters[position++] = HexDigit(value >> 4);
            characters[position++] = HexDigit(value & 0xF);
        }

        var result = new string(characters[..position]);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        return result;
    }

    private static int DecodeToBytes(string encoded, Span<byte> bytes)
    {
        var length = 0;
        for (var index = 0; index < encoded.Length; index++)
        {
            var character = encoded[index];
            if (character == '%' && index + 2 < encoded.Length && TryHexValue(encoded[index + 1], out var high)
                && TryHexValue(encoded[index + 2], out var low))
            {
                bytes[length++] = (byte)((high << 4) | low);
                index += 2;
            }
            else if (character <= 0x7F)
            {
                bytes[length++] = (byte)character;
            }
            else
            {
                length += Encoding.UTF8.GetBytes(encoded.AsSpan(index, 1), bytes[length..]);
            }
        }

        return length;
    }

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'A' + (value - 10));

    private static bool TryHexValue(char character, out int value)
    {
        value = character switch
        {
            >= '0' and <= '9' => character - '0',
            >= 'A' and <= 'F' => character - 'A' + 10,
            >= 'a' and <= 'f' => character - 'a' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
