namespace CommsCredits.Grpc.Internal;

using System.Buffers;
using CommsCredits.Grpc.Protocol;

/// <summary>
/// Turns HTTP/2 header fields into <see cref="Metadata"/> entries and back. Text values must be printable
/// ASCII; "-bin" values are base64, padded or not, possibly several joined with ",".
/// </summary>
internal static class MetadataEncoding
{
    /// <summary>The outcome of adding one header field.</summary>
    public enum AddResult
    {
        Added,

        /// <summary>The field is reserved or not valid custom metadata; the spec lets us drop it.</summary>
        Ignored,

        /// <summary>A "-bin" value that is not base64: the call fails.</summary>
        InvalidBinary,
    }

    /// <summary>True for a key of 1 to 256 characters from [a-z0-9._-] (upper case letters are folded).</summary>
    public static bool IsValidKey(string key)
    {
        if (key.Length is 0 or > Metadata.MaxKeyLength)
        {
            return false;
        }

        foreach (var character in key)
        {
            var allowed = character is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
                or '.' or '_' or '-';
            if (!allowed)
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidTextValue(string value)
    {
        foreach (var character in value)
        {
            if (character is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsBinaryKey(string key) => key.EndsWith(Metadata.BinarySuffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>Adds one received header field (one of possibly several values of a name) to the metadata.</summary>
    public static AddResult TryAdd(Metadata metadata, string key, string? value)
    {
        if (value is null || GrpcProtocol.IsReservedHeader(key) || !IsValidKey(key))
        {
            return AddResult.Ignored;
        }

        if (!IsBinaryKey(key))
        {
            if (!IsValidTextValue(value))
            {
                return AddResult.Ignored;
            }

            metadata.Add(key, value);
            return AddResult.Added;
        }

        foreach (var range in value.AsSpan().Split(','))
        {
            if (!TryDecodeBase64(value.AsSpan(range), out var bytes))
            {
                return AddResult.InvalidBinary;
            }

            metadata.Add(key, bytes);
        }

        return AddResult.Added;
    }

    /// <summary>Decodes standard base64 (RFC 4648 section 4) with or without its "=" padding.</summary>
    public static bool TryDecodeBase64(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        text = text.Trim(' ');
        var remainder = text.Length % 4;
        if (remainder == 1)
        {
            return false;
        }

        var paddedLength = remainder == 0 ? text.Length : text.Length + (4 - remainder);
        var characters = ArrayPool<char>.Shared.Rent(paddedLength);
        var decoded = ArrayPool<byte>.Shared.Rent((paddedLength / 4 * 3) + 1);
        try
        {
            text.CopyTo(characters);
            characters.AsSpan(text.Length, paddedLength - text.Length).Fill('=');
            if (!Convert.TryFromBase64Chars(characters.AsSpan(0, paddedLength), decoded, out var written))
            {
                return false;
            }

            bytes = decoded.AsSpan(0, written).ToArray();
            return true;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(characters);
            ArrayPool<byte>.Shared.Return(decoded, clearArray: true);
        }
    }
}
