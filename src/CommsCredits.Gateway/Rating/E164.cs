namespace CommsCredits.Gateway.Rating;

/// <summary>
/// The form of a telephone number the gateway accepts: E.164 written with a leading '+',
/// then 1 to 15 digits, the first 1 to 9 ("+447700900123"). No spaces or separators.
/// </summary>
public static class E164
{
    /// <summary>ITU-T E.164 allows at most 15 digits.</summary>
    public const int MaxDigits = 15;

    public static bool IsValid(ReadOnlySpan<char> number) => TryGetDigits(number, out _);

    /// <summary>The digits after the '+', without copying, when <paramref name="number"/> is E.164.</summary>
    public static bool TryGetDigits(ReadOnlySpan<char> number, out ReadOnlySpan<char> digits)
    {
        digits = [];
        if (number.Length < 2 || number.Length > MaxDigits + 1 || number[0] != '+' || number[1] == '0')
        {
            return false;
        }

        var candidate = number[1..];
        foreach (var character in candidate)
        {
            if (!char.IsAsciiDigit(character))
            {
                return false;
            }
        }

        digits = candidate;
        return true;
    }
}
