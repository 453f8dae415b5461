using System.Globalization;
using System.Text;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace CommsCredits.Tests.Rating;

/// <summary>Round trips: valid rate rows written as a rate file, in any of the ways the format allows, read back unchanged.</summary>
public sealed class RateCsvReaderPropertyTests
{
    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(500);

    // Letters, digits, spaces and the characters CSV must quote, with accents, CJK and a character outside the BMP.
    private static readonly char[] NameCharacters = "abcXYZ019 ,\"'.-()éñ日本".ToCharArray();

    private static readonly CallType[] CallTypes = [CallType.OutboundPstn, CallType.ConferenceDialOut, CallType.TollFreeInbound];

    [Fact]
    public void Any_valid_rows_written_as_a_rate_file_read_back_as_the_same_rows()
    {
        // Proves the reader against an independent writer: any list of valid rows, written with random quoting,
        // CRLF or LF, an optional BOM and final line end, amounts with any number of decimals up to 6, times in
        // Z or with an offset, and cut into random chunks (even inside a UTF-8 character), reads back as the same
        // rows, in UTC, each on its own line.
        var cases = from rows in Gen.NonEmptyListOf(Row()).Select(list => list.Take(30).ToList())
                    from seed in Gen.Choose(0, int.MaxValue - 1)
                    select (rows, seed);
        Check.One(Runs, Prop.ForAll(cases.ToArbitrary(), testCase =>
        {
            var (rows, seed) = testCase;
            var random = new Random(seed);
            var file = Encoding.UTF8.GetBytes(Write(rows, random));
            var reader = new RateCsvReader();
            var error = ReadInChunks(reader, file, random) ?? reader.Complete();
            return error is null
                && reader.Rows.SequenceEqual(rows)
                && reader.Rows.All(row => row.EffectiveFrom!.Value.Offset == TimeSpan.Zero)
                && Enumerable.Range(1, rows.Count).All(rowNumber => reader.LineNumberOf(rowNumber) == rowNumber + 1);
        }));
    }

    private static Gen<RateVersionCandidate> Row() =>
        from callType in Gen.Elements(CallTypes)
        from prefixLength in Gen.Choose(1, 15)
        from firstDigit in Gen.Choose(1, 9)
        from otherDigits in Gen.ArrayOf(Gen.Choose(0, 9), prefixLength - 1)
        from nameLength in Gen.Choose(0, 30)
        from nameRest in Gen.ArrayOf(Gen.Elements(NameCharacters), nameLength)
        from phone in Gen.Elements(true, false)
        from rate in RatingGenerators.Long(0, MoneyLimits.MaxRatePerMinuteMicros)
        from fee in RatingGenerators.Long(0, MoneyLimits.MaxConnectionFeeMicros)
        from first in RatingGenerators.Increment()
        from next in RatingGenerators.Increment()
        from microseconds in RatingGenerators.Uniform(0, 100L * 365 * 24 * 3_600 * 1_000_000)
        select new RateVersionCandidate(
            callType,
            firstDigit.ToString(CultureInfo.InvariantCulture) + string.Concat(otherDigits),
            "N" + new string(nameRest) + (phone ? " \U0001F4DE" : string.Empty),
            rate,
            fee,
            first,
            next,
            new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(microseconds * 10));

    private static string Write(IReadOnlyList<RateVersionCandidate> rows, Random random)
    {
        var text = new StringBuilder();
        if (random.Next(2) == 0)
        {
            text.Append('\uFEFF');
        }

        text.Append(RateCsvReader.Header);
        foreach (var row in rows)
        {
            text.Append(random.Next(2) == 0 ? "\r\n" : "\n");
            string[] fields =
            [
                row.CallType switch { CallType.OutboundPstn => "outbound_pstn", CallType.ConferenceDialOut => "conference_dial_out", _ => "toll_free_inbound" },
                (random.Next(4) == 0 ? "+" : string.Empty) + row.Prefix,
                row.DestinationName!,
                Amount(row.RatePerMinuteMicros, random),
                Amount(row.ConnectionFeeMicros, random),
                string.Create(CultureInfo.InvariantCulture, $"{row.FirstIncrementSeconds}/{row.NextIncrementSeconds}"),
                Time(row.EffectiveFrom!.Value, random),
            ];
            text.AppendJoin(',', fields.Select(field => Quote(field, random)));
        }

        if (random.Next(2) == 0)
        {
            text.Append(random.Next(2) == 0 ? "\r\n" : "\n");
        }

        return text.ToString();
    }

    /// <summary>Micro-units as a decimal with the fewest decimals it needs, or more, up to 6.</summary>
    private static string Amount(long micros, Random random)
    {
        var fraction = (micros % MoneyLimits.MicrosPerUnit).ToString("D6", CultureInfo.InvariantCulture);
        var needed = fraction.TrimEnd('0').Length;
        var decimals = random.Next(needed, 7);
        var whole = (micros / MoneyLimits.MicrosPerUnit).ToString(CultureInfo.InvariantCulture);
        return decimals == 0 ? whole : whole + "." + fraction[..decimals];
    }

    /// <summary>The instant in UTC with Z, or as local time at a random offset; fractions only when needed.</summary>
    private static string Time(DateTimeOffset utc, Random random)
    {
        var fraction = utc.Ticks % TimeSpan.TicksPerSecond == 0 && random.Next(2) == 0 ? string.Empty : ".ffffff";
        if (random.Next(2) == 0)
        {
            return utc.ToString("yyyy-MM-dd'T'HH:mm:ss" + fraction + "'Z'", CultureInfo.InvariantCulture);
        }

        var local = utc.ToOffset(TimeSpan.FromMinutes(random.Next(-14 * 4, (14 * 4) + 1) * 15));
        return local.ToString("yyyy-MM-dd'T'HH:mm:ss" + fraction + "zzz", CultureInfo.InvariantCulture);
    }

    /// <summary>Quotes a field when it must be, and at random when it need not be.</summary>
    private static string Quote(string field, Random random)
    {
        var mustQuote = field.AsSpan().IndexOfAny(",\"\r\n") >= 0;
        return mustQuote || random.Next(3) == 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;
    }

    private static RateCsvError? ReadInChunks(RateCsvReader reader, byte[] file, Random random)
    {
        var position = 0;
        while (position < file.Length)
        {
            var length = Math.Min(file.Length - position, random.Next(1, 64));
            if (reader.Append(file.AsSpan(position, length)) is { } error)
            {
                return error;
            }

            position += length;
        }

        return null;
    }
}
