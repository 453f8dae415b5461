using System.Globalization;

namespace CommsCredits.Gateway.Money;

/// <summary>
/// An amount of money in integer micro-units of a currency (1 unit = 1,000,000 micros).
/// All money arithmetic of the gateway goes through this type, so that every sum is checked
/// for overflow in one place and no amount ever passes through floating point.
/// </summary>
public readonly record struct MoneyAmount(long Micros) : IComparable<MoneyAmount>
{
    private const int MicrosDigits = 6;

    // The largest whole-unit part a parsed amount may have: more would overflow a long of micros.
    private const long MaxWholeUnits = long.MaxValue / MoneyLimits.MicrosPerUnit;

    private static readonly string[] FractionFormats = ["", "D1", "D2", "D3", "D4", "D5", "D6"];

    private static readonly long[] PowersOfTen = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

    public static MoneyAmount Zero => default;

    public bool IsZero => Micros == 0;

    public bool IsNegative => Micros < 0;

    /// <summary>The sum; throws <see cref="OverflowException"/> rather than wrapping around.</summary>
    public MoneyAmount Add(MoneyAmount other) => new(checked(Micros + other.Micros));

    /// <summary>The difference; throws <see cref="OverflowException"/> rather than wrapping around.</summary>
    public MoneyAmount Subtract(MoneyAmount other) => new(checked(Micros - other.Micros));

    public static MoneyAmount operator +(MoneyAmount left, MoneyAmount right) => left.Add(right);

    public static MoneyAmount operator -(MoneyAmount left, MoneyAmount right) => left.Subtract(right);

    public static bool operator <(MoneyAmount left, MoneyAmount right) => left.Micros < right.Micros;

    public static bool operator >(MoneyAmount left, MoneyAmount right) => left.Micros > right.Micros;

    public static bool operator <=(MoneyAmount left, MoneyAmount right) => left.Micros <= right.Micros;

    public static bool operator >=(MoneyAmount left, MoneyAmount right) => left.Micros >= right.Micros;

    public int CompareTo(MoneyAmount other) => Micros.CompareTo(other.Micros);

    public static MoneyAmount Min(MoneyAmount left, MoneyAmount right) => left <= right ? left : right;

    public static MoneyAmount Max(MoneyAmount left, MoneyAmount right) => left >= right ? left : right;

    /// <summary>The exact decimal value in currency units, without trailing zeros ("12.5", "50").</summary>
    public override string ToString() => ToString(minimumFractionDigits: 0);

    /// <summary>
    /// The exact decimal value with at least the currency's minor digits ("12.50 EUR" is written
    /// "12.50"). More digits are written when the amount needs them: an amount is never rounded
    /// for display, so that shown figures add up to the ledger's.
    /// </summary>
    public string ToString(Currency currency)
    {
        ArgumentNullException.ThrowIfNull(currency);
        return ToString(currency.MinorDigits);
    }

    /// <summary>The exact decimal value with at least <paramref name="minimumFractionDigits"/> (0 to 6) decimals.</summary>
    public string ToString(int minimumFractionDigits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumFractionDigits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minimumFractionDigits, MicrosDigits);

        // The magnitude as unsigned, so that long.MinValue has one too.
        var magnitude = Micros < 0 ? (ulong)(-(Micros + 1)) + 1 : (ulong)Micros;
        var wholeUnits = magnitude / MoneyLimits.MicrosPerUnit;
        var fraction = magnitude % MoneyLimits.MicrosPerUnit;
        var fractionDigits = MicrosDigits;
        while (fractionDigits > minimumFractionDigits && fraction % 10 == 0)
        {
            fraction /= 10;
            fractionDigits--;
        }

        var sign = Micros < 0 ? "-" : "";
        var whole = wholeUnits.ToString(CultureInfo.InvariantCulture);
        if (fractionDigits == 0)
        {
            return sign + whole;
        }

        return sign + whole + "." + fraction.ToString(FractionFormats[fractionDigits], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Parses a plain decimal number of currency units ("50", "12.345678", "-0.5") into micros,
    /// exactly. Rejects more than 6 decimals (a fraction of a micro cannot be held), exponents,
    /// signs other than a leading '-', separators, white space and amounts that overflow.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out MoneyAmount amount)
    {
        amount = Zero;
        var negative = text.Length > 0 && text[0] == '-';
        var rest = negative ? text[1..] : text;
        var point = rest.IndexOf('.');
        var wholeText = point < 0 ? rest : rest[..point];
        var fractionText = point < 0 ? [] : rest[(point + 1)..];
        if (point >= 0 && fractionText.IsEmpty)
        {
            return false;
        }

        if (!TryParseWholeUnits(wholeText, out var wholeUnits)
            || !TryParseFractionMicros(fractionText, out var fractionMicros))
        {
            return false;
        }

        // At the very top of the range the fraction alone can push past long.MaxValue.
        if (wholeUnits == MaxWholeUnits && fractionMicros > long.MaxValue % MoneyLimits.MicrosPerUnit)
        {
            return false;
        }

        var magnitude = (wholeUnits * MoneyLimits.MicrosPerUnit) + fractionMicros;
        amount = new MoneyAmount(negative ? -magnitude : magnitude);
        return true;
    }

    /// <summary>Parses like <see cref="TryParse"/>; throws <see cref="FormatException"/> naming the text.</summary>
    public static MoneyAmount Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParse(text, out var amount))
        {
            throw new FormatException(
                $"'{text}' is not an amount: expected digits with at most 6 decimals, such as \"50\" or \"12.345678\".");
        }

        return amount;
    }

    private static bool TryParseWholeUnits(ReadOnlySpan<char> digits, out long wholeUnits)
    {
        wholeUnits = 0;
        if (digits.IsEmpty)
        {
            return false;
        }

        foreach (var character in digits)
        {
            if (!char.IsAsciiDigit(character))
            {
                return false;
            }

            // Bounded before each step, so the accumulator itself can never overflow.
            wholeUnits = (wholeUnits * 10) + (character - '0');
            if (wholeUnits > MaxWholeUnits)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseFractionMicros(ReadOnlySpan<char> digits, out long fractionMicros)
    {
        fractionMicros = 0;
        if (digits.Length > MicrosDigits)
        {
            return false;
        }

        foreach (var character in digits)
        {
            if (!char.IsAsciiDigit(character))
            {
                return false;
            }

            fractionMicros = (fractionMicros * 10) + (character - '0');
        }

        fractionMicros *= PowersOfTen[MicrosDigits - digits.Length];
        return true;
    }
}
