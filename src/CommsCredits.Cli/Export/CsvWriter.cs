namespace CommsCredits.Cli.Export;

/// <summary>
/// Writes RFC 4180 CSV: records end in CRLF; a field holding a comma, a double quote, CR or LF is quoted, with its
/// double quotes doubled. Other fields are written as they are.
/// </summary>
public sealed class CsvWriter(TextWriter output)
{
    private static readonly char[] NeedQuotes = [',', '"', '\r', '\n'];

    /// <summary>Writes one record of <paramref name="fields"/>.</summary>
    public async Task WriteRecordAsync(IReadOnlyList<string> fields, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fields);
        await output.WriteAsync(FormatRecord(fields).AsMemory(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One record as text, its CRLF included.</summary>
    public static string FormatRecord(IReadOnlyList<string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        return string.Join(',', fields.Select(Escape)) + "\r\n";
    }

    /// <summary>A field as RFC 4180 wants it.</summary>
    public static string Escape(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return field.IndexOfAny(NeedQuotes) < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
