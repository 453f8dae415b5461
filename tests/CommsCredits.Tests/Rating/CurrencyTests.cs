namespace CommsCredits.Tests.Rating;

using CommsCredits.Gateway.Money;
using Shouldly;
using Xunit;

public sealed class CurrencyTests
{
    [Theory]
    [InlineData("EUR", true)]
    [InlineData("JPY", true)]
    [InlineData("XYZ", true)]
    [InlineData("eur", false)]
    [InlineData("EU", false)]
    [InlineData("EURO", false)]
    [InlineData("E1R", false)]
    [InlineData("ÉUR", false)]
    [InlineData("", false)]
    public void Only_three_upper_case_ASCII_letters_make_a_currency_code(string code, bool valid)
    {
        // Proves the ISO 4217 form check that CreateTenant relies on.
        Currency.IsValidCode(code).ShouldBe(valid);
    }
}
