namespace CommsCredits.Grpc.Protocol;

using System.Collections;

/// <summary>
/// Custom metadata of a call: ordered key/value entries. Keys are lower-case ASCII from [a-z0-9._-]; keys ending
/// in "-bin" carry bytes (base64 on the wire), every other key carries printable ASCII text.
/// </summary>
public sealed class Metadata : IReadOnlyList<Metadata.Entry>
{
    /// <summary>The suffix that marks a binary entry.</summary>
    public const string BinarySuffix = "-bin";

    /// <summary>A key longer than this is refused: it protects both ends from absurd headers.</summary>
    public const int MaxKeyLength = 256;

    private readonly List<Entry> entries = [];

    public int Count => entries.Count;

    public Entry this[int index] => entries[index];

    /// <summary>Adds a text entry. The key must not end in "-bin"; the value must be printable ASCII.</summary>
    public Metadata Add(string key, string value)
    {
        entries.Add(new Entry(key, value));
        return this;
    }

    /// <summary>Adds a binary entry. The key must end in "-bin".</summary>
    public Metadata Add(string key, byte[] value)
    {
        entries.Add(new Entry(key, value));
        return this;
    }

    /// <summary>The last entry with this key, or null.</summary>
    public Entry? Get(string key)
    {
        var normalized = NormalizeKey(key);
        for (var index = entries.Count - 1; index >= 0; index--)
        {
            if (string.Equals(entries[index].Key, normalized, StringComparison.Ordinal))
            {
                return entries[index];
            }
        }

        return null;
    }

    /// <summary>The text value of the last entry with this key, or null.</summary>
    public string? GetValue(string key) => Get(key)?.Value;

    /// <summary>The bytes of the last binary entry with this key, or null.</summary>
    public byte[]? GetBytes(string key) => Get(key)?.ValueBytes;

    public IEnumerator<Entry> GetEnumerator() => entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal static string NormalizeKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Length > MaxKeyLength)
        {
            throw new ArgumentException($"metadata key is longer than {MaxKeyLength} characters", nameof(key));
        }

        var normalized = key.ToLowerInvariant();
        foreach (var character in normalized)
        {
            var allowed = character is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-';
            if (!allowed)
            {
                throw new ArgumentException($"metadata key '{key}' has a character outside [a-z0-9._-]", nameof(key));
            }
        }

        return normalized;
    }

    /// <summary>One metadata entry: text or, for a "-bin" key, bytes.</summary>
    public sealed class Entry
    {
        private readonly string? text;
        private readonly byte[]? bytes;

        internal Entry(string key, string value)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(value);
            if (Key.EndsWith(BinarySuffix, StringComparison.Ordinal))
            {
                throw new ArgumentException($"metadata key '{Key}' ends in {BinarySuffix} and needs a byte value", nameof(key));
            }

            foreach (var character in value)
            {
                if (character is < ' ' or > '~')
                {
                    throw new ArgumentException($"metadata value of '{Key}' has a character outside printable ASCII", nameof(value));
                }
            }

            text = value;
        }

        internal Entry(string key, byte[] value)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(value);
            if (!Key.EndsWith(BinarySuffix, StringComparison.Ordinal))
            {
                throw new ArgumentException($"metadata key '{Key}' carries bytes and must end in {BinarySuffix}", nameof(key));
            }

            bytes = value;
        }

        public string Key { get; }

        public bool IsBinary => bytes is not null;

        /// <summary>The text value; for a binary entry, its unpadded base64 form as sent on the wire.</summary>
        public string Value => text ?? Convert.ToBase64String(bytes!).TrimEnd('=');

        /// <summary>The bytes of a binary entry; for a text entry, its ASCII bytes.</summary>
        public byte[] ValueBytes => bytes ?? System.Text.Encoding.ASCII.GetBytes(text!);

        public override string ToString() => $"{Key}: {Value}";
    }
}
