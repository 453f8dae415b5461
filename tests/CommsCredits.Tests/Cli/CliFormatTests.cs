namespace CommsCredits.Tests.Cli;

using CommsCredits.Cli.Export;
using CommsCredits.Cli.Money;
using Shouldly;
using Xunit;

/// <summary>The CLI's exact money text and its RFC 4180 CSV writer.</summary>
public sealed class CliFormatTests
{
    [Theory]
    [InlineData(50_000_000, "EUR", "50.00")]
    [InlineData(25_000, "EUR", "0.025")]
    [InlineData(150_000_000, "JPY", "150")]
    [InlineData(150_500_000, "JPY", "150.5")]
    [InlineData(1_250_000, "BHD", "1.250")]
    [InlineData(1_000_001, "KWD", "1.000001")]
    [InlineData(-1_500_000, "EUR", "-1.50")]
    [InlineData(long.MinValue, "EUR", "-9223372036854.775808")]
    [InlineData(0, "EUR", "0.00")]
    public void Micros_are_formatted_exactly_with_the_minor_digits(long micros, string currency, string expected)
    {
        // Proves formatting pads to the currency's minor digits and keeps any remainder below them instead of rounding.
        MoneyText.Format(micros, currency).ShouldBe(expected);
    }

    [Theory]
    [InlineData("50.00", "EUR", 50_000_000)]
    [InlineData("50", "EUR", 50_000_000)]
    [InlineData("0.5", "EUR", 500_000)]
    [InlineData("1.234", "BHD", 1_234_000)]
    [InlineData("5000", "JPY", 5_000_000_000)]
    [InlineData("9223372036854", "EUR", 9_223_372_036_854_000_000)]
    public void Amounts_are_parsed_exactly_into_micros(string text, string currency, long expected)
    {
        // Proves parsing is exact decimal arithmetic: what is typed is what is sent.
        MoneyText.TryParse(text, currency, out var micros, out var error).ShouldBeTrue(error);
        micros.ShouldBe(expected);
    }

    [Theory]
    [InlineData("50.001", "EUR")]
    [InlineData("1.5", "JPY")]
    [InlineData("-5", "EUR")]
    [InlineData("1e3", "EUR")]
    [InlineData("1,000", "EUR")]
    [InlineData("5.", "EUR")]
    [InlineData(".5", "EUR")]
    [InlineData("", "EUR")]
    [InlineData("9223372036855", "EUR")]
    [InlineData("99999999999999999999", "EUR")]
    public void Bad_amounts_are_refused(string text, string currency)
    {
        // Proves amounts with too many decimals, signs, exponents, separators or overflow are refused, not rounded.
        MoneyText.TryParse(text, currency, out _, out var error).ShouldBeFalse();
        error.ShouldNotBeEmpty();
    }

    [Fact]
    public void Csv_fields_are_quoted_only_when_needed_and_records_end_in_CRLF()
    {
        // Proves RFC 4180: commas, quotes, CR and LF force quoting, quotes are doubled, every record ends in CRLF.
        CsvWriter.FormatRecord(["plain", "a,b", "say \"hi\"", "two\nlines", "cr\r", string.Empty])
            .ShouldBe("plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",\r\n");
    }
}
