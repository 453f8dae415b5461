using System.Globalization;
using System.Text.RegularExpressions;
using CommsCredits.Contracts.V1;

namespace CommsCredits.Gateway.Rating.Internal;

/// <summary>
/// Turns the text of one rate-file column into the value of a rate version. Each parser says only whether the
/// text has the column's form; the ranges are <see cref="RateRowValidator"/>'s, checked once for every import.
/// A parser returns the reason the text is refused, or null.
/// </summary>
internal static partial class RateCsvFields
{
    /// <summary>Amounts are exact to the micro-unit: 6 decimal places at most.</summary>
    public const int MaxFractionDigits = 6;

    /// <summary>
    /// Whole units beyond 12 digits cannot be a rate (the limit is 1,000 units) and would not fit a long once
    /// scaled to micro-units; refusing them here keeps the arithmetic below exact without overflow checks.
    /// </summary>
    private const int MaxWholeDigits = 12;

    /// <summary>Nine digits keep an increment inside a long; the validator then holds it to 1 to 3,600.</summary>
    private const int MaxIncrementDigits = 9;

    /// <summary>What a refusal quotes of the text it refuses.</summary>
    private const int MaxQuotedCharacters = 40;

    // Seconds are required; fractions stop at microseconds, the precision PostgreSQL stores, so two rows that
    // differ below it cannot both pass the duplicate check and then collide in the database.
    private static readonly string[] TimeFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss'Z'",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'",
        "yyyy-MM-dd'T'HH:mm:sszzz",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFzzz",
    ];

    public static string? CallType(string text, out CallType callType)
    {
        callType = text switch
        {
            "outbound_pstn" => Contracts.V1.CallType.OutboundPstn,
            "conference_dial_out" => Contracts.V1.CallType.ConferenceDialOut,
            "toll_free_inbound" => Contracts.V1.CallType.TollFreeInbound,
            _ => Contracts.V1.CallType.Unspecified,
        };
        return callType == Contracts.V1.CallType.Unspecified
            ? $"must be outbound_pstn, conference_dial_out or toll_free_inbound (got '{Quote(text)}')"
            : null;
    }

    /// <summary>The prefix without the one leading '+' people write out of E.164 habit; its rules are the validator's.</summary>
    public static string Prefix(string text) => text.StartsWith('+') ? text[1..] : text;

    /// <summary>
    /// A decimal amount in major units ("0.025") as micro-units, with integer arithmetic only: digits, then
    /// optionally '.' and 1 to 6 digits. No sign, exponent, separators or white space.
    /// </summary>
    public static string? Micros(string text, out long micros)
    {
        micros = 0;
        var point = text.IndexOf('.', StringComparison.Ordinal);
        var whole = point < 0 ? text.AsSpan() : text.AsSpan(0, point);
        var fraction = point < 0 ? [] : text.AsSpan(point + 1);
        if (whole.IsEmpty || (point >= 0 && fraction.IsEmpty) || !AllDigits(whole) || !AllDigits(fraction))
        {
            return $"must be a decimal amount such as 0.025: digits, then optionally '.' and up to {MaxFractionDigits} digits (got '{Quote(text)}')";
        }

        if (fraction.Length > MaxFractionDigits)
        {
            return $"has more than {MaxFractionDigits} decimal places: amounts are exact to the micro-unit, 0.000001 (got '{Quote(text)}')";
        }

        whole = whole.TrimStart('0');
        if (whole.Length > MaxWholeDigits)
        {
            return $"is too large (got '{Quote(text)}')";
        }

        var fractionMicros = Digits(fraction);
        for (var position = fraction.Length; position < MaxFractionDigits; position++)
        {
            fractionMicros *= 10;
        }

        micros = (Digits(whole) * Money.MoneyLimits.MicrosPerUnit) + fractionMicros;
        return null;
    }

    /// <summary>Billing increments written "first/next" in seconds, such as 60/1.</summary>
    public static string? Increments(string text, out long firstSeconds, out long nextSeconds)
    {
        firstSeconds = 0;
        nextSeconds = 0;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? [] : text.AsSpan(0, slash);
        var next = slash < 0 ? [] : text.AsSpan(slash + 1);
        if (first.IsEmpty || next.IsEmpty || !AllDigits(first) || !AllDigits(next))
        {
            return $"must be the first and next increments in seconds, such as 60/1 (got '{Quote(text)}')";
        }

        first = first.TrimStart('0');
        next = next.TrimStart('0');
        if (first.Length > MaxIncrementDigits || next.Length > MaxIncrementDigits)
        {
            return $"is too large (got '{Quote(text)}')";
        }

        firstSeconds = Digits(first);
        nextSeconds = Digits(next);
        return null;
    }

    /// <summary>An ISO 8601 time with seconds and an explicit offset or Z ("2026-01-01T00:00:00Z"), as UTC.</summary>
    public static string? EffectiveFrom(string text, out DateTimeOffset effectiveFrom)
    {
        effectiveFrom = default;

        // The shape is checked first: the parser alone would also take "+0100" offsets and a '.' without digits.
        if (!TimeShape().IsMatch(text) || !DateTimeOffset.TryParseExact(text, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out effectiveFrom))
        {
            return $"must be an ISO 8601 time with seconds and an offset or Z, such as 2026-01-01T00:00:00Z or 2026-01-01T01:00:00+01:00 (got '{Quote(text)}')";
        }

        effectiveFrom = effectiveFrom.ToUniversalTime();
        return null;
    }

    [GeneratedRegex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})\\z", RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture, matchTimeoutMilliseconds: 1_000)]
    private static partial Regex TimeShape();

    public static string Quote(string text) => text.Length <= MaxQuotedCharacters ? text : text[..MaxQuotedCharacters] + "...";

    private static bool AllDigits(ReadOnlySpan<char> text)
    {
        foreach (var character in text)
        {
            if (!char.IsAsciiDigit(character))
            {
                return false;
            }
        }

        return true;
    }

    private static long Digits(ReadOnlySpan<char> digits)
    {
        long value = 0;
        foreach (var digit in digits)
        {
            value = (value * 10) + (digit - '0');
        }

        return value;
    }
}
