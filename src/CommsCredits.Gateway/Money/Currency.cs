using System.Diagnostics.CodeAnalysis;

namespace CommsCredits.Gateway.Money;

/// <summary>
/// An ISO 4217 alphabetic currency code ("EUR") with the number of minor digits used to show
/// its amounts. Amounts themselves are always micro-units (<see cref="MoneyAmount"/>); the
/// minor digits only matter for display.
/// </summary>
public sealed record Currency
{
    private Currency(string code, int minorDigits)
    {
        Code = code;
        MinorDigits = minorDigits;
    }

    /// <summary>Three upper-case ASCII letters.</summary>
    public string Code { get; }

    /// <summary>Decimals shown for the currency (2 for EUR, 0 for JPY, 3 for KWD).</summary>
    public int MinorDigits { get; }

    /// <summary>True when <paramref name="code"/> has the ISO 4217 form: three upper-case ASCII letters.</summary>
    public static bool IsValidCode(ReadOnlySpan<char> code) =>
        code.Length == 3 && char.IsAsciiLetterUpper(code[0]) && char.IsAsciiLetterUpper(code[1])
        && char.IsAsciiLetterUpper(code[2]);

    public static bool TryParse(string? code, [NotNullWhen(true)] out Currency? currency)
    {
        currency = code is not null && IsValidCode(code) ? new Currency(code, MinorDigitsOf(code)) : null;
        return currency is not null;
    }

    /// <summary>The currency for <paramref name="code"/>; throws <see cref="ArgumentException"/> naming the rule.</summary>
    public static Currency Parse(string code)
    {
        if (!TryParse(code, out var currency))
        {
            throw new ArgumentException(
                $"currency '{code}' is not an ISO 4217 code: expected three upper-case letters such as \"EUR\".",
                nameof(code));
        }

        return currency;
    }

    public override string ToString() => Code;

    /// <summary>
    /// The ISO 4217 exponent of the currencies that do not use 2 decimals; every other code
    /// (including ones unknown to this table) is shown with 2, the common case.
    /// </summary>
    private static int MinorDigitsOf(string code) => code switch
    {
        "BIF" or "CLP" or "DJF" or "GNF" or "ISK" or "JPY" or "KMF" or "KRW" or "PYG" or "RWF" or "UGX"
            or "UYI" or "VND" or "VUV" or "XAF" or "XOF" or "XPF" => 0,
        "BHD" or "IQD" or "JOD" or "KWD" or "LYD" or "OMR" or "TND" => 3,
        "CLF" or "UYW" => 4,
        _ => 2,
    };
}
