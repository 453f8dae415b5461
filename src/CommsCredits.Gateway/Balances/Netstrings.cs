namespace CommsCredits.Gateway.Balances;

using System.Globalization;

/// <summary>
/// Decodes the "length:text," lists that the Lua scripts produce (common.lua, encode). Lengths count bytes of UTF-8;
/// all our fields are ASCII or validated UTF-8 text.
/// </summary>
public static class Netstrings
{
    /// <summary>Upper bound on fields in one list: a settlement has 29, an answer 11.</summary>
    public const int MaxFields = 64;

    public static string[] Decode(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        var fields = new List<string>(32);
        var bytes = System.Text.Encoding.UTF8.GetBytes(encoded);
        var position = 0;
        while (position < bytes.Length)
        {
            if (fields.Count == MaxFields)
            {
                throw new FormatException($"encoded list has more than {MaxFields} fields");
            }

            var colon = Array.IndexOf(bytes, (byte)':', position);
            if (colon < 0)
            {
                throw new FormatException($"encoded list has no ':' after position {position}");
            }

            var length = int.Parse(bytes.AsSpan(position, colon - position), NumberStyles.None, CultureInfo.InvariantCulture);
            var end = colon + 1 + length;
            if (end > bytes.Length)
            {
                throw new FormatException($"encoded field at position {position} runs past the end");
            }

            fields.Add(System.Text.Encoding.UTF8.GetString(bytes, colon + 1, length));
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

        return [.. fields];
    }

    public static long ParseInteger(string text) => long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
