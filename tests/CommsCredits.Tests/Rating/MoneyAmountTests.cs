using CommsCredits.Gateway.Money;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

namespace CommsCredits.Tests.Rating;

public sealed class MoneyAmountTests
{
    [Fact]
    public void Add_and_subtract_are_exact_and_throw_on_overflow()
    {
        // Proves money arithmetic never wraps around: an overflow is an exception, not a wrong amount.
        var amount = new MoneyAmount(1_500_000) + new MoneyAmount(2_250_001);
        amount.Micros.ShouldBe(3_750_001);
        (amount - new MoneyAmount(3_750_002)).Micros.ShouldBe(-1);
        Should.Throw<OverflowException>(() => new MoneyAmount(long.MaxValue).Add(new MoneyAmount(1)));
        Should.Throw<OverflowException>(() => new MoneyAmount(long.MinValue).Subtract(new MoneyAmount(1)));
        Should.Throw<OverflowException>(() => new MoneyAmount(long.MaxValue) + new MoneyAmount(1));
    }

    [Fact]
    public void Comparisons_minimum_and_maximum_order_by_micros()
    {
        // Proves the comparison operators and Min/Max agree with the order of the micro-unit values.
        var small = new MoneyAmount(-5);
        var large = new MoneyAmount(7);
        (small < large).ShouldBeTrue();
        (large > small).ShouldBeTrue();
        (small <= new MoneyAmount(-5)).ShouldBeTrue();
        (large >= new MoneyAmount(8)).ShouldBeFalse();
        small.CompareTo(large).ShouldBeLessThan(0);
        MoneyAmount.Min(small, large).ShouldBe(small);
        MoneyAmount.Max(small, large).ShouldBe(large);
        MoneyAmount.Zero.IsZero.ShouldBeTrue();
        small.IsNegative.ShouldBeTrue();
    }

    [Theory]
    [InlineData(12_345_678, "EUR", "12.345678")]
    [InlineData(12_340_000, "EUR", "12.34")]
    [InlineData(50_000_000, "EUR", "50.00")]
    [InlineData(50_000_000, "JPY", "50")]
    [InlineData(12_500_000, "JPY", "12.5")]
    [InlineData(1_500_000, "KWD", "1.500")]
    [InlineData(-1, "EUR", "-0.000001")]
    [InlineData(-2_500_000, "USD", "-2.50")]
    [InlineData(0, "EUR", "0.00")]
    public void Formatting_shows_the_currency_minor_digits_and_never_rounds(long micros, string currencyCode, string expected)
    {
        // Proves amounts are written exactly, padded to the currency's minor digits, with more digits only when needed.
        new MoneyAmount(micros).ToString(Currency.Parse(currencyCode)).ShouldBe(expected);
    }

    [Fact]
    public void Formatting_covers_the_whole_long_range()
    {
        // Proves the extremes of a long format correctly, including long.MinValue, which has no positive counterpart.
        new MoneyAmount(long.MaxValue).ToString().ShouldBe("9223372036854.775807");
        new MoneyAmount(long.MinValue).ToString().ShouldBe("-9223372036854.775808");
        new MoneyAmount(12_500_000).ToString().ShouldBe("12.5");
    }

    [Theory]
    [InlineData("50", 50_000_000)]
    [InlineData("12.345678", 12_345_678)]
    [InlineData("0.000001", 1)]
    [InlineData("0.1", 100_000)]
    [InlineData("-0.5", -500_000)]
    [InlineData("007", 7_000_000)]
    [InlineData("9223372036854.775807", long.MaxValue)]
    public void Parsing_reads_decimal_amounts_exactly(string text, long expectedMicros)
    {
        // Proves decimal text becomes micro-units exactly, with no floating point in between.
        MoneyAmount.Parse(text).Micros.ShouldBe(expectedMicros);
    }

    [Theory]
    [InlineData("12.3456789")]
    [InlineData("")]
    [InlineData("-")]
    [InlineData(".5")]
    [InlineData("5.")]
    [InlineData("1e3")]
    [InlineData(" 5")]
    [InlineData("5 ")]
    [InlineData("+5")]
    [InlineData("1,000")]
    [InlineData("1.2.3")]
    [InlineData("\u0661")]
    [InlineData("9223372036854.775808")]
    [InlineData("9223372036855")]
    [InlineData("99999999999999999999999")]
    public void Parsing_rejects_anything_but_a_plain_decimal_of_at_most_six_places(string text)
    {
        // Proves sub-micro fractions, exponents, separators, stray signs, non-ASCII digits and overflow are refused.
        MoneyAmount.TryParse(text, out _).ShouldBeFalse();
        Should.Throw<FormatException>(() => MoneyAmount.Parse(text));
    }

    [Fact]
    public void Formatting_then_parsing_returns_the_same_amount()
    {
        // Proves formatting loses nothing: any amount (but long.MinValue) parses back to itself, in any currency.
        var amounts = ArbMap.Default.ArbFor<long>().Filter(micros => micros != long.MinValue);
        Prop.ForAll(amounts, micros =>
            MoneyAmount.Parse(new MoneyAmount(micros).ToString()).Micros == micros
            && MoneyAmount.Parse(new MoneyAmount(micros).ToString(Currency.Parse("JPY"))).Micros == micros
            && MoneyAmount.Parse(new MoneyAmount(micros).ToString(Currency.Parse("EUR"))).Micros == micros)
            .QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData("EUR", 2)]
    [InlineData("USD", 2)]
    [InlineData("JPY", 0)]
    [InlineData("KWD", 3)]
    [InlineData("CLF", 4)]
    [InlineData("XYZ", 2)]
    public void Currency_accepts_iso_codes_and_knows_their_minor_digits(string code, int minorDigits)
    {
        // Proves valid codes are accepted, with the ISO 4217 exponent, and 2 for codes the table does not list.
        var currency = Currency.Parse(code);
        currency.Code.ShouldBe(code);
        currency.MinorDigits.ShouldBe(minorDigits);
        currency.ToString().ShouldBe(code);
    }

    [Theory]
    [InlineData("eur")]
    [InlineData("EU")]
    [InlineData("EURO")]
    [InlineData("E1R")]
    [InlineData("ÉUR")]
    [InlineData("")]
    public void Currency_rejects_codes_that_are_not_three_upper_case_letters(string code)
    {
        // Proves only three upper-case ASCII letters make a currency code.
        Currency.TryParse(code, out _).ShouldBeFalse();
        Should.Throw<ArgumentException>(() => Currency.Parse(code));
        Currency.TryParse(null, out _).ShouldBeFalse();
    }
}
