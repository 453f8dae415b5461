using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using CommsCredits.Gateway.Rating.Internal;

namespace CommsCredits.Gateway.Rating;

/// <summary>
/// Why a rate file is refused: the physical line (1-based, the header is line 1; for a record whose quoted field
/// spans lines, the line where the record starts), the column or part of the file to fix, and the reason.
/// </summary>
public sealed record RateCsvError(int LineNumber, string Field, string Reason)
{
    /// <summary>The INVALID_ARGUMENT message: "line 7: prefix: must hold digits only, without '+' or separators".</summary>
    public string Message => string.Create(CultureInfo.InvariantCulture, $"line {LineNumber}: {Field}: {Reason}");

    public override string ToString() => Message;
}

/// <summary>
/// Reads a rate file (docs/rating.md, "Rate files") as its bytes arrive: UTF-8 with an optional byte order mark,
/// RFC 4180 records (quoted fields, "" inside them, CRLF or LF line ends), the header
/// <see cref="Header"/>, then one rate per line. Only the record being read and the rows parsed so far are held.
/// Each row is checked by <see cref="RateRowValidator"/> as soon as it is complete, so the first bad line is
/// reported without reading the rest; rules over the whole import (repeated rows) are checked once all rows are
/// in, by the import, whose error <see cref="Describe"/> puts in the file's terms.
/// </summary>
public sealed class RateCsvReader
{
    public const string Header = "call_type,prefix,destination_name,rate_per_minute,connection_fee,increments,effective_from";

    /// <summary>A record longer than this is refused: it bounds what one record holds whatever the file holds.</summary>
    public const int MaxRecordCharacters = 4_096;

    private const int DecodeBufferCharacters = 4_096;
    private const char ByteOrderMark = '\uFEFF';
    private static readonly string[] Columns = Header.Split(',');

    private readonly char[] decoded = new char[DecodeBufferCharacters];
    private readonly byte[] pending = new byte[4];
    private readonly int maxRows;
    private readonly List<RateVersionCandidate> rows = [];
    private readonly List<int> rowLineNumbers = [];
    private readonly List<string> fields = new(Columns.Length);
    private readonly StringBuilder field = new();
    private int pendingLength;
    private State state = State.FieldStart;
    private int lineNumber = 1;
    private int recordLineNumber = 1;
    private int recordCharacters;
    private bool firstCharacterSeen;
    private bool headerRead;
    private bool ended;

    /// <param name="maxRows">Rows a file may hold, 1 to <see cref="RateRowValidator.MaxRowsPerImport"/>.</param>
    public RateCsvReader(int maxRows = RateRowValidator.MaxRowsPerImport)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxRows, RateRowValidator.MaxRowsPerImport);
        this.maxRows = maxRows;
    }

    private enum State
    {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
        CarriageReturn,
    }

    /// <summary>The rows read so far, in file order; each has passed <see cref="RateRowValidator.ValidateRow"/>.</summary>
    public IReadOnlyList<RateVersionCandidate> Rows => rows;

    /// <summary>The line on which row <paramref name="rowNumber"/> (1-based, in <see cref="Rows"/>) starts.</summary>
    public int LineNumberOf(int rowNumber) => rowLineNumbers[rowNumber - 1];

    /// <summary>Reads the next bytes of the file, which may end anywhere, even inside a character. Null, or why the file is refused.</summary>
    public RateCsvError? Append(ReadOnlySpan<byte> bytes)
    {
        ThrowIfEnded();
        return Ended(Decode(bytes, final: false));
    }

    /// <summary>Ends the file: the last record needs no line end. Null when the file holds a header and 1 or more rows.</summary>
    public RateCsvError? Complete()
    {
        ThrowIfEnded();
        ended = true;
        return Decode([], final: true) ?? EndOfFile();
    }

    /// <summary>An import error about <see cref="Rows"/> (by row number and API field) as the line and column of the file.</summary>
    public RateCsvError Describe(RateImportError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error.RowNumber is not { } rowNumber)
        {
            return new RateCsvError(1, "file", error.Message);
        }

        var line = LineNumberOf(rowNumber);
        return error.DuplicateOfRowNumber is { } earlier
            ? new RateCsvError(line, "record", string.Create(CultureInfo.InvariantCulture, $"repeats line {LineNumberOf(earlier)}: same call_type, prefix and effective_from"))
            : FieldError(line, error.Field, error.Reason);
    }

    /// <summary>The rate-file column of an API field; the reason keeps the API field's name when it differs.</summary>
    private static RateCsvError FieldError(int line, string apiField, string reason)
    {
        var column = apiField switch
        {
            "rate_per_minute_micros" => "rate_per_minute",
            "connection_fee_micros" => "connection_fee",
            "first_increment_seconds" or "next_increment_seconds" => "increments",
            _ => apiField,
        };
        return new RateCsvError(line, column, string.Equals(column, apiField, StringComparison.Ordinal) ? reason : apiField + " " + reason);
    }

    private void ThrowIfEnded()
    {
        if (ended)
        {
            throw new InvalidOperationException("the rate file has ended or been refused; it reads nothing more");
        }
    }

    private RateCsvError? Ended(RateCsvError? error)
    {
        ended |= error is not null;
        return error;
    }

    private RateCsvError? Decode(ReadOnlySpan<byte> bytes, bool final)
    {
        if (CompletePendingCharacter(ref bytes, final) is { } pendingError)
        {
            return pendingError;
        }

        // Each pass decodes at least one character into the buffer, or stops.
        while (!bytes.IsEmpty)
        {
            var status = Utf8.ToUtf16(bytes, decoded, out var bytesRead, out var charactersWritten, replaceInvalidSequences: false, isFinalBlock: final);
            bytes = bytes[bytesRead..];
            if (Consume(decoded.AsSpan(0, charactersWritten)) is { } error)
            {
                return error;
            }

            switch (status)
            {
                case OperationStatus.InvalidData:
                    return NotUtf8();
                case OperationStatus.NeedMoreData:
                    // A character split between chunks: at most 3 of its bytes wait for the next chunk.
                    bytes.CopyTo(pending);
                    pendingLength = bytes.Length;
                    return null;
            }
        }

        return null;
    }

    /// <summary>Completes a character whose first bytes ended the previous chunk, one byte at a time (at most 3).</summary>
    private RateCsvError? CompletePendingCharacter(ref ReadOnlySpan<byte> bytes, bool final)
    {
        while (pendingLength > 0 && !bytes.IsEmpty)
        {
            pending[pendingLength++] = bytes[0];
            bytes = bytes[1..];
            var status = Utf8.ToUtf16(pending.AsSpan(0, pendingLength), decoded, out _, out var charactersWritten, replaceInvalidSequences: false, isFinalBlock: false);
            if (status == OperationStatus.InvalidData)
            {
                return NotUtf8();
            }

            if (status == OperationStatus.Done)
            {
                pendingLength = 0;
                return Consume(decoded.AsSpan(0, charactersWritten));
            }
        }

        return final && pendingLength > 0 ? NotUtf8() : null;
    }

    private RateCsvError NotUtf8() => new(recordLineNumber, "file", "is not valid UTF-8 text");

    private RateCsvError? Consume(ReadOnlySpan<char> text)
    {
        foreach (var character in text)
        {
            if (!firstCharacterSeen)
            {
                firstCharacterSeen = true;
                if (character == ByteOrderMark)
                {
                    continue;
                }
            }

            if (++recordCharacters > MaxRecordCharacters)
            {
                return new RateCsvError(recordLineNumber, "record", string.Create(CultureInfo.InvariantCulture, $"is longer than {MaxRecordCharacters} characters"));
            }

            var error = state switch
            {
                State.FieldStart => AtFieldStart(character),
                State.Unquoted => InUnquoted(character),
                State.Quoted => InQuoted(character),
                State.QuoteInQuoted => AfterQuoteInQuoted(character),
                _ => AfterCarriageReturn(character),
            };
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private RateCsvError? AtFieldStart(char character)
    {
        if (character == '"')
        {
            state = State.Quoted;
            return null;
        }

        state = State.Unquoted;
        return InUnquoted(character);
    }

    private RateCsvError? InUnquoted(char character) => character switch
    {
        ',' => EndField(),
        '\n' => EndRecord(),
        '\r' => Become(State.CarriageReturn),
        '"' => new RateCsvError(recordLineNumber, CurrentField(), "has a quote inside an unquoted field: enclose the field in quotes and double each quote inside it"),
        _ => Keep(character),
    };

    private RateCsvError? InQuoted(char character)
    {
        if (character == '"')
        {
            return Become(State.QuoteInQuoted);
        }

        if (character == '\n')
        {
            lineNumber++;
        }

        return Keep(character, State.Quoted);
    }

    private RateCsvError? AfterQuoteInQuoted(char character) => character switch
    {
        '"' => Keep(character, State.Quoted),
        ',' => EndField(),
        '\n' => EndRecord(),
        '\r' => Become(State.CarriageReturn),
        _ => new RateCsvError(recordLineNumber, CurrentField(), "has text after its closing quote"),
    };

    private RateCsvError? AfterCarriageReturn(char character) =>
        character == '\n' ? EndRecord() : CarriageReturnAlone();

    private RateCsvError CarriageReturnAlone() =>
        new(recordLineNumber, "record", "has a carriage return that is not followed by a line feed (lines end in CRLF or LF)");

    private RateCsvError? Become(State next)
    {
        state = next;
        return null;
    }

    private RateCsvError? Keep(char character, State next = State.Unquoted)
    {
        field.Append(character);
        state = next;
        return null;
    }

    private string CurrentField() => headerRead ? Columns[Math.Min(fields.Count, Columns.Length - 1)] : "header";

    private RateCsvError? EndField()
    {
        if (fields.Count == Columns.Length)
        {
            return headerRead
                ? new RateCsvError(recordLineNumber, "record", string.Create(CultureInfo.InvariantCulture, $"has more than {Columns.Length} fields"))
                : HeaderColumnCountError(Columns.Length + 1);
        }

        fields.Add(field.ToString());
        field.Clear();
        state = State.FieldStart;
        return null;
    }

    private RateCsvError? EndRecord()
    {
        if (EndField() is { } error)
        {
            return error;
        }

        var result = headerRead ? ReadRow() : ReadHeader();
        fields.Clear();
        lineNumber++;
        recordLineNumber = lineNumber;
        recordCharacters = 0;
        return result;
    }

    private RateCsvError? EndOfFile()
    {
        switch (state)
        {
            case State.Quoted:
                return new RateCsvError(recordLineNumber, CurrentField(), "has a quoted field that is never closed");
            case State.CarriageReturn:
                return CarriageReturnAlone();
        }

        // The last record may end at the end of the file instead of a line end.
        if (recordCharacters > 0 && EndRecord() is { } error)
        {
            return error;
        }

        if (!headerRead)
        {
            return new RateCsvError(1, "header", "is missing: the file is empty; its first line must be " + Header);
        }

        return rows.Count == 0 ? new RateCsvError(recordLineNumber, "file", "holds no rate rows after the header") : null;
    }

    private RateCsvError? ReadHeader()
    {
        headerRead = true;
        if (fields.Count != Columns.Length)
        {
            return HeaderColumnCountError(fields.Count);
        }

        for (var index = 0; index < Columns.Length; index++)
        {
            if (!string.Equals(fields[index], Columns[index], StringComparison.Ordinal))
            {
                return new RateCsvError(recordLineNumber, "header", string.Create(
                    CultureInfo.InvariantCulture,
                    $"column {index + 1} must be {Columns[index]} (got '{RateCsvFields.Quote(fields[index])}'); the header is {Header}"));
            }
        }

        return null;
    }

    private RateCsvError HeaderColumnCountError(int columnCount) => new(recordLineNumber, "header", string.Create(
        CultureInfo.InvariantCulture,
        $"must be {Header} ({Columns.Length} columns, got {(columnCount > Columns.Length ? "more" : columnCount.ToString(CultureInfo.InvariantCulture))})"));

    private RateCsvError? ReadRow()
    {
        if (fields.Count != Columns.Length)
        {
            var reason = fields is [""]
                ? "is empty: every line after the header must be a rate"
                : string.Create(CultureInfo.InvariantCulture, $"has {fields.Count} fields, not {Columns.Length}");
            return new RateCsvError(recordLineNumber, "record", reason);
        }

        if (rows.Count == maxRows)
        {
            return new RateCsvError(recordLineNumber, "file", string.Create(CultureInfo.InvariantCulture, $"holds more than {maxRows} rate rows"));
        }

        if (ParseRow(out var error) is not { } row)
        {
            return error;
        }

        if (RateRowValidator.ValidateRow(row) is { } broken)
        {
            return FieldError(recordLineNumber, broken.Field, broken.Reason);
        }

        rows.Add(row);
        rowLineNumbers.Add(recordLineNumber);
        return null;
    }

    private RateVersionCandidate? ParseRow(out RateCsvError? error)
    {
        error = null;
        if (RateCsvFields.CallType(fields[0], out var callType) is { } callTypeReason)
        {
            error = ColumnError(0, callTypeReason);
        }
        else if (RateCsvFields.Micros(fields[3], out var rateMicros) is { } rateReason)
        {
            error = ColumnError(3, rateReason);
        }
        else if (RateCsvFields.Micros(fields[4], out var feeMicros) is { } feeReason)
        {
            error = ColumnError(4, feeReason);
        }
        else if (RateCsvFields.Increments(fields[5], out var firstSeconds, out var nextSeconds) is { } incrementsReason)
        {
            error = ColumnError(5, incrementsReason);
        }
        else if (RateCsvFields.EffectiveFrom(fields[6], out var effectiveFrom) is { } effectiveFromReason)
        {
            error = ColumnError(6, effectiveFromReason);
        }
        else
        {
            return new RateVersionCandidate(
                callType, RateCsvFields.Prefix(fields[1]), fields[2], rateMicros, feeMicros, firstSeconds, nextSeconds, effectiveFrom);
        }

        return null;
    }

    private RateCsvError ColumnError(int column, string reason) => new(recordLineNumber, Columns[column], reason);
}
