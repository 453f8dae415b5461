namespace CommsCredits.Gateway.Balances;

using System.Buffers;
using System.Globalization;
using System.Text;

/// <summary>
/// Decodes the "length:text," lists that the Lua scripts produce (common.lua, encode). Lengths count bytes of UTF-8;
/// all our fields are ASCII or validated UTF-8 text.
/// </summary>
public static class Netstrings
{
    /// <summary>Upper bound on fields in one list: a Terminate's settlement has 50, an answer 13.</summary>
    public const int MaxFields = 64;

    /// <summary>
    /// The fields of <paramref name="encoded"/>. The list is cut on its UTF-8 bytes, as the scripts count; when those
    /// are as many as the characters the text is ASCII, a byte offset is a character offset, and each field is copied
    /// straight out of the string instead of being decoded from UTF-8 again. Every request decodes a stored answer
    /// and a settlement this way, so nothing is allocated but the fields and their array.
    /// </summary>
    public static string[] Decode(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        // A pooled buffer rather than the stack: a stackalloc is zeroed on every call, which cost as much as it saved.
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(encoded.Length));
        var length = Encoding.UTF8.GetBytes(encoded, rented);
        try
        {
            return Decode(encoded, rented.AsSpan(0, length));
        }
        finally
        {
            rented.AsSpan(0, length).Clear();
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static long ParseInteger(string text) => long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static string[] Decode(string encoded, ReadOnlySpan<byte> bytes)
    {
        Span<int> starts = stackalloc int[MaxFields];
        Span<int> lengths = stackalloc int[MaxFields];
        var count = 0;
        var position = 0;
        while (position < bytes.Length)
        {
            if (count == MaxFields)
            {
                throw new FormatException($"encoded list has more than {MaxFields} fields");
            }

            var colon = bytes[position..].IndexOf((byte)':');
            if (colon < 0)
            {
                throw new FormatException($"encoded list has no ':' after position {position}");
            }

            colon += position;
            var length = int.Parse(bytes[position..colon], NumberStyles.None, CultureInfo.InvariantCulture);
            var end = colon + 1 + length;
            if (end > bytes.Length)
            {
                throw new FormatException($"encoded field at position {position} runs past the end");
            }

            if (end < 0)
            {
                // A length near int.MaxValue wraps around; the decoder has always refused it this way.
                throw new ArgumentOutOfRangeException(nameof(bytes), $"encoded field at position {position} declares {length} bytes");
            }

            starts[count] = colon + 1;
            lengths[count] = length;
            count++;
            position = end;
            if (position < bytes.Length)
            {
                if (bytes[position] != (byte)',')
                {
                    throw new FormatException($"encoded list has no ',' at position {position}");
                }

                position++;
            }
        }

        var ascii = bytes.Length == encoded.Length;
        var fields = count == 0 ? [] : new string[count];
        for (var index = 0; index < count; index++)
        {
            fields[index] = ascii
                ? encoded.Substring(starts[index], lengths[index])
                : Encoding.UTF8.GetString(bytes.Slice(starts[index], lengths[index]));
        }

        return fields;
    }
}
