namespace CommsCredits.Cli.Money;

using System.Globalization;
using System.Text;

/// <summary>
/// Amounts in major units ("50.00") to and from integer micro-units, exactly: no floating point anywhere. Each currency
/// has its ISO 4217 minor digits (EUR 2, JPY 0, BHD 3).
/// </summary>
public static class MoneyText
{
    public const long MicrosPerUnit = 1_000_000;

    private const int MicroDigits = 6;

    // ISO 4217 currencies whose minor unit is not 2 digits; every other currency has 2.
    private static readonly Dictionary<string, int> NonDefaultMinorDigits = new(StringComparer.Ordinal)
    {
        ["BIF"] = 0, ["CLP"] = 0, ["DJF"] = 0, ["GNF"] = 0, ["ISK"] = 0, ["JPY"] = 0, ["KMF"] = 0, ["KRW"] = 0,
        ["PYG"] = 0, ["RWF"] = 0, ["UGX"] = 0, ["UYI"] = 0, ["VND"] = 0, ["VUV"] = 0, ["XAF"] = 0, ["XOF"] = 0,
        ["XPF"] = 0,
        ["BHD"] = 3, ["IQD"] = 3, ["JOD"] = 3, ["KWD"] = 3, ["LYD"] = 3, ["OMR"] = 3, ["TND"] = 3,
        ["CLF"] = 4, ["UYW"] = 4,
    };

    /// <summary>The digits after the decimal point of <paramref name="currency"/>'s minor unit.</summary>
    public static int MinorDigits(string currency)
    {
        ArgumentNullException.ThrowIfNull(currency);
        return NonDefaultMinorDigits.TryGetValue(currency, out var digits) ? digits : 2;
    }

    /// <summary>
    /// Micros as major units with the currency's minor digits ("50.00", "150", "1.250"); a remainder below the minor
    /// unit is printed with the extra digits it needs ("0.025") rather than rounded away.
    /// </summary>
    public static string Format(long micros, string currency)
    {
        var minorDigits = MinorDigits(currency);
        var magnitude = micros < 0 ? (ulong)(-(micros + 1)) + 1 : (ulong)micros;
        var whole = magnitude / MicrosPerUnit;
        var fraction = (magnitude % MicrosPerUnit).ToString("D6", CultureInfo.InvariantCulture);
        var digits = MicroDigits;
        while (digits > minorDigits && fraction[digits - 1] == '0')
        {
            digits--;
        }

        var text = new StringBuilder(32);
        if (micros < 0)
        {
            text.Append('-');
        }

        text.Append(whole.ToString(CultureInfo.InvariantCulture));
        if (digits > 0)
        {
            text.Append('.').Append(fraction, 0, digits);
        }

        return text.ToString();
    }

    /// <summary>
    /// Parses a non-negative amount in major units ("50", "50.5", "50.00") into micros. Refused (with the reason in
    /// <paramref name="error"/>): signs, separators, exponents, more decimals than the currency has, and amounts that do
    /// not fit in a long.
    /// </summary>
    public static bool TryParse(string text, string currency, out long micros, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        micros = 0;
        var minorDigits = MinorDigits(currency);
        var point = text.IndexOf('.', StringComparison.Ordinal);
        var wholeText = point < 0 ? text : text[..point];
        var fractionText = point < 0 ? string.Empty : text[(point + 1)..];
        if (wholeText.Length == 0 || !wholeText.All(char.IsAsciiDigit) || !fractionText.All(char.IsAsciiDigit) || (point >= 0 && fractionText.Length == 0))
        {
            error = $"amount '{text}' is not a plain decimal number such as 50.00";
            return false;
        }

        if (fractionText.Length > minorDigits)
        {
            error = $"amount '{text}' has {fractionText.Length} decimals; {currency} has {minorDigits}";
            return false;
        }

        // 19 digits of whole units cannot fit once multiplied by a million; shorter ones are checked exactly.
        if (wholeText.TrimStart('0').Length > 13
            || !long.TryParse(wholeText, NumberStyles.None, CultureInfo.InvariantCulture, out var whole)
            || whole > long.MaxValue / MicrosPerUnit)
        {
            error = $"amount '{text}' is too large";
            return false;
        }

        var fractionMicros = fractionText.Length == 0 ? 0 : long.Parse(fractionText.PadRight(MicroDigits, '0'), NumberStyles.None, CultureInfo.InvariantCulture);
        micros = checked((whole * MicrosPerUnit) + fractionMicros);
        error = string.Empty;
        return true;
    }
}
