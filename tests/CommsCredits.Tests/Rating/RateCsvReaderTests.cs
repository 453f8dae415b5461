using System.Text;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;
using Shouldly;
using Xunit;

namespace CommsCredits.Tests.Rating;

/// <summary>The rate-file reader: RFC 4180 details, exact amounts, and every refusal with its line number.</summary>
public sealed class RateCsvReaderTests
{
    private const string Header = RateCsvReader.Header + "\n";
    private const string GoodLine = "outbound_pstn,44,United Kingdom,0.025,0,60/1,2026-01-01T00:00:00Z\n";

    public static TheoryData<string, string> BadFiles => new()
    {
        { "", "line 1: header: is missing: the file is empty" },
        { "\uFEFF", "line 1: header: is missing: the file is empty" },
        { Header, "line 2: file: holds no rate rows after the header" },
        { "call_type,prefix,name,rate_per_minute,connection_fee,increments,effective_from\n" + GoodLine, "line 1: header: column 3 must be destination_name (got 'name')" },
        { "call_type,prefix\n" + GoodLine, "line 1: header: must be call_type,prefix,destination_name,rate_per_minute,connection_fee,increments,effective_from (7 columns, got 2)" },
        { RateCsvReader.Header + ",extra\n" + GoodLine, "line 1: header: must be " },
        { Header + GoodLine + "outbound_pstn,49,Germany,0.025,0,60/1\n", "line 3: record: has 6 fields, not 7" },
        { Header + GoodLine + "outbound_pstn,49,Germany,0.025,0,60/1,2026-01-01T00:00:00Z,x\n", "line 3: record: has more than 7 fields" },
        { Header + GoodLine + "\n" + GoodLine, "line 3: record: is empty: every line after the header must be a rate" },
        { Header + GoodLine + GoodLine.Replace("outbound_pstn", "OUTBOUND_PSTN", StringComparison.Ordinal), "line 3: call_type: must be outbound_pstn, conference_dial_out or toll_free_inbound (got 'OUTBOUND_PSTN')" },
        { Header + Line(prefix: "4a"), "line 2: prefix: must hold digits only, without '+' or separators" },
        { Header + Line(prefix: "044"), "line 2: prefix: must start with a digit 1 to 9" },
        { Header + Line(name: ""), "line 2: destination_name: is required" },
        { Header + Line(name: "\"United\tKingdom\""), "line 2: destination_name: must not hold control characters" },
        { Header + Line(rate: "0.0250001"), "line 2: rate_per_minute: has more than 6 decimal places" },
        { Header + Line(rate: "-1"), "line 2: rate_per_minute: must be a decimal amount such as 0.025" },
        { Header + Line(rate: ".5"), "line 2: rate_per_minute: must be a decimal amount" },
        { Header + Line(rate: "5."), "line 2: rate_per_minute: must be a decimal amount" },
        { Header + Line(rate: "1e3"), "line 2: rate_per_minute: must be a decimal amount" },
        { Header + Line(rate: " 1"), "line 2: rate_per_minute: must be a decimal amount" },
        { Header + Line(rate: "1000.000001"), "line 2: rate_per_minute: rate_per_minute_micros must be from 0 to 1000000000, got 1000000001" },
        { Header + Line(rate: "1234567890123"), "line 2: rate_per_minute: is too large" },
        { Header + Line(fee: "0,5"), "line 2: record: has more than 7 fields" },
        { Header + Line(fee: "\"0,5\""), "line 2: connection_fee: must be a decimal amount" },
        { Header + Line(fee: "1001"), "line 2: connection_fee: connection_fee_micros must be from 0 to 1000000000, got 1001000000" },
        { Header + Line(increments: "60"), "line 2: increments: must be the first and next increments in seconds, such as 60/1 (got '60')" },
        { Header + Line(increments: "60/1/1"), "line 2: increments: must be the first and next increments" },
        { Header + Line(increments: "0/1"), "line 2: increments: first_increment_seconds must be from 1 to 3600, got 0" },
        { Header + Line(increments: "60/3601"), "line 2: increments: next_increment_seconds must be from 1 to 3600, got 3601" },
        { Header + Line(effectiveFrom: "2026-01-01T00:00:00"), "line 2: effective_from: must be an ISO 8601 time with seconds and an offset or Z" },
        { Header + Line(effectiveFrom: "2026-01-01"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "2026-01-01 00:00:00Z"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "2026-01-01T00:00Z"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "2026-01-01T00:00:00.1234567Z"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "2026-01-01T00:00:00z"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "2026-01-01T00:00:00+0100"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "2026-01-01T00:00:00+01"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "2026-01-01T00:00:00.Z"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "2026-01-01T24:00:00Z"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "0001-01-01T00:00:00+01:00"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "\"2026-01-01T00:00:00Z\n\""), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(effectiveFrom: "2026-02-30T00:00:00Z"), "line 2: effective_from: must be an ISO 8601 time" },
        { Header + Line(name: "United \"Kingdom\""), "line 2: destination_name: has a quote inside an unquoted field" },
        { Header + Line(name: "\"United\" Kingdom"), "line 2: destination_name: has text after its closing quote" },
        { Header + "outbound_pstn,44,\"United", "line 2: destination_name: has a quoted field that is never closed" },
        { Header + GoodLine + "outbound_pstn,49,Germany\r,0.025,0,60/1,2026-01-01T00:00:00Z\n", "line 3: record: has a carriage return that is not followed by a line feed" },
        { Header + GoodLine + "outbound_pstn,49,Germany,0.025,0,60/1,2026-01-01T00:00:00Z\r", "line 3: record: has a carriage return that is not followed by a line feed" },
        { Header + GoodLine + Line(name: new string('x', RateCsvReader.MaxRecordCharacters)), "line 3: record: is longer than 4096 characters" },
        { Header + GoodLine + "outbound_pstn,44,\"United\nKingdom\",0.025,0,60/1,2026-01-01T00:00:00Z\n" + GoodLine, "line 3: destination_name: must not hold control characters" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_file_is_refused_naming_the_line_the_field_and_the_reason(string file, string expectedMessageStart)
    {
        // Proves each refusal of the format: the physical line (a record's first line when a quoted field spans
        // lines), the column or part of the file, and a reason that says what to write instead.
        var error = Read(Encoding.UTF8.GetBytes(file)).Error.ShouldNotBeNull();
        error.Message.ShouldStartWith(expectedMessageStart);
    }

    [Fact]
    public void Quoting_byte_order_mark_CRLF_and_offsets_are_read_exactly()
    {
        // Proves the RFC 4180 details and the exact units: a BOM is skipped, CRLF and LF both end lines, quoted
        // fields keep commas and doubled quotes, a leading '+' on a prefix is dropped, amounts become micro-units
        // without rounding, an offset time becomes the same instant in UTC, and the last line needs no line end.
        var file = "\uFEFF" + RateCsvReader.Header + "\r\n"
            + "outbound_pstn,+44,\"Kingdom, \"\"United\"\"\",0.025,0.000001,60/1,2026-01-01T01:00:00+01:00\r\n"
            + "\"conference_dial_out\",4930,Berlin,1000,1000.000000,1/1,2026-06-30T23:59:59.123456Z\n"
            + "toll_free_inbound,1,\"\",0,0,0030/006,2026-01-01T00:00:00-05:30";
        var (rows, error, reader) = Read(Encoding.UTF8.GetBytes(file));

        error.ShouldNotBeNull().Message.ShouldStartWith("line 4: destination_name: is required");
        rows.Count.ShouldBe(2);
        rows[0].ShouldBe(new RateVersionCandidate(
            CallType.OutboundPstn, "44", "Kingdom, \"United\"", 25_000, 1, 60, 1, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        rows[0].EffectiveFrom!.Value.Offset.ShouldBe(TimeSpan.Zero);
        rows[1].ShouldBe(new RateVersionCandidate(
            CallType.ConferenceDialOut, "4930", "Berlin", 1_000_000_000, 1_000_000_000, 1, 1, new DateTimeOffset(2026, 6, 30, 23, 59, 59, TimeSpan.Zero).AddTicks(1_234_560)));
        reader.LineNumberOf(1).ShouldBe(2);
        reader.LineNumberOf(2).ShouldBe(3);

        var fixedFile = file.Replace(",\"\",", ",Toll free,", StringComparison.Ordinal);
        var fixedRows = Read(Encoding.UTF8.GetBytes(fixedFile)).Rows;
        fixedRows.Count.ShouldBe(3);
        fixedRows[2].ShouldBe(new RateVersionCandidate(
            CallType.TollFreeInbound, "1", "Toll free", 0, 0, 30, 6, new DateTimeOffset(2026, 1, 1, 5, 30, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void Chunks_may_split_the_file_anywhere_even_inside_a_character()
    {
        // Proves the reader is indifferent to how the bytes arrive: one byte at a time, which splits multi-byte
        // UTF-8 characters and CRLF pairs, reads the same rows as the whole file at once.
        var file = Encoding.UTF8.GetBytes("\uFEFF" + RateCsvReader.Header + "\r\n"
            + "outbound_pstn,81,日本 \U0001F4DE,\"0.1\",0,60/60,2026-01-01T00:00:00Z\r\n"
            + "outbound_pstn,33,\"Fran\u00E7e, \"\"m\u00E9tropole\"\"\",0.02,0.01,1/1,2026-01-01T00:00:00Z\r\n");
        var whole = Read(file);
        whole.Error.ShouldBeNull();

        var reader = new RateCsvReader();
        foreach (var value in file)
        {
            reader.Append([value]).ShouldBeNull();
        }

        reader.Complete().ShouldBeNull();
        reader.Rows.ShouldBe(whole.Rows);
        reader.Rows[0].DestinationName.ShouldBe("日本 \U0001F4DE");
        reader.Rows[1].DestinationName.ShouldBe("Fran\u00E7e, \"m\u00E9tropole\"");
    }

    [Fact]
    public void A_bad_line_is_reported_as_soon_as_it_arrives()
    {
        // Proves the reader fails fast: the chunk holding bad line 3 is refused before the rest of the file is
        // sent, and a refused reader reads nothing more.
        var reader = new RateCsvReader();
        reader.Append(Encoding.UTF8.GetBytes(Header + GoodLine)).ShouldBeNull();
        var error = reader.Append(Encoding.UTF8.GetBytes(Line(prefix: "x") + GoodLine)).ShouldNotBeNull();

        error.ShouldBe(new RateCsvError(3, "prefix", "must hold digits only, without '+' or separators"));
        Should.Throw<InvalidOperationException>(() => reader.Append(Encoding.UTF8.GetBytes(GoodLine)));
    }

    [Fact]
    public void Bytes_that_are_not_UTF8_are_refused_on_their_line()
    {
        // Proves an encoding other than UTF-8 (here Latin-1 "ç") is refused, naming the line, instead of being
        // stored as replacement characters; so is a file that ends inside a character.
        var file = Encoding.UTF8.GetBytes(Header + GoodLine).Concat(Encoding.Latin1.GetBytes(Line(name: "Fran\u00E7e"))).ToArray();
        Read(file).Error.ShouldBe(new RateCsvError(3, "file", "is not valid UTF-8 text"));

        var truncated = Encoding.UTF8.GetBytes(Header + GoodLine + Line(name: "日本"))[..^1];
        var cut = Array.LastIndexOf(truncated, (byte)0xE6) + 1;
        Read(truncated[..cut]).Error.ShouldBe(new RateCsvError(3, "file", "is not valid UTF-8 text"));
    }

    [Fact]
    public void A_file_with_more_rows_than_the_limit_is_refused_on_the_first_row_beyond_it()
    {
        // Proves the row limit bounds what the reader holds: the row past it is refused by its line.
        var reader = new RateCsvReader(maxRows: 2);
        var error = reader.Append(Encoding.UTF8.GetBytes(Header + Line(prefix: "1") + Line(prefix: "2") + Line(prefix: "3")));

        error.ShouldBe(new RateCsvError(4, "file", "holds more than 2 rate rows"));
        Should.Throw<ArgumentOutOfRangeException>(() => new RateCsvReader(maxRows: RateRowValidator.MaxRowsPerImport + 1));
    }

    [Fact]
    public void A_repeated_row_is_described_by_the_lines_of_both_rows()
    {
        // Proves the import's duplicate rule, found by RateRowValidator on the whole file, comes back in the
        // file's terms: the later line and the line it repeats (the same instant written with another offset).
        var file = Header + Line(prefix: "44") + Line(prefix: "33") + Line(prefix: "49")
            + Line(prefix: "44", effectiveFrom: "2026-01-01T01:00:00+01:00");
        var reader = new RateCsvReader();
        reader.Append(Encoding.UTF8.GetBytes(file)).ShouldBeNull();
        reader.Complete().ShouldBeNull();

        var importError = RateRowValidator.ValidateImport(reader.Rows).ShouldNotBeNull();
        reader.Describe(importError).Message.ShouldBe("line 5: record: repeats line 2: same call_type, prefix and effective_from");
    }

    internal static string Line(
        string prefix = "44",
        string name = "United Kingdom",
        string rate = "0.025",
        string fee = "0",
        string increments = "60/1",
        string effectiveFrom = "2026-01-01T00:00:00Z") =>
        $"outbound_pstn,{prefix},{name},{rate},{fee},{increments},{effectiveFrom}\n";

    private static (IReadOnlyList<RateVersionCandidate> Rows, RateCsvError? Error, RateCsvReader Reader) Read(byte[] file)
    {
        var reader = new RateCsvReader();
        var error = reader.Append(file) ?? reader.Complete();
        return (reader.Rows, error, reader);
    }
}
