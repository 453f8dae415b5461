using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Money;

namespace CommsCredits.Gateway.Rating.Internal;

/// <summary>
/// The rules a rate version's fields must follow, defined once: <see cref="Tariff"/>'s
/// constructor throws on them and <see cref="RateRowValidator"/> reports them, so an import
/// that validates can always be built into tariffs.
/// </summary>
internal static class TariffRules
{
    public const int MaxDestinationNameCharacters = 200;

    /// <summary>The reason <paramref name="callType"/> cannot hold rates, or null when it can.</summary>
    public static string? CallTypeError(CallType callType) =>
        IsRatedCallType(callType) ? null : "must be OUTBOUND_PSTN, CONFERENCE_DIAL_OUT or TOLL_FREE_INBOUND";

    public static bool IsRatedCallType(CallType callType) =>
        callType is CallType.OutboundPstn or CallType.ConferenceDialOut or CallType.TollFreeInbound;

    public static string? PrefixError(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix))
        {
            return "is required: 1 to 15 digits without '+'";
        }

        if (prefix.Length > E164.MaxDigits)
        {
            return "must be at most 15 digits";
        }

        foreach (var character in prefix)
        {
            if (!char.IsAsciiDigit(character))
            {
                return "must hold digits only, without '+' or separators";
            }
        }

        // An E.164 number never starts with 0, so such a prefix could never match a call.
        return prefix[0] == '0' ? "must start with a digit 1 to 9, as E.164 numbers do" : null;
    }

    public static string? DestinationNameError(string? destinationName)
    {
        if (string.IsNullOrWhiteSpace(destinationName))
        {
            return "is required: 1 to 200 characters, not only white space";
        }

        var characterCount = 0;
        var remaining = destinationName.AsSpan();
        while (!remaining.IsEmpty)
        {
            // Characters are counted as Unicode scalar values, as people count them.
            if (Rune.DecodeFromUtf16(remaining, out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return "must be valid Unicode text";
            }

            if (Rune.IsControl(rune))
            {
                return "must not hold control characters";
            }

            characterCount++;
            remaining = remaining[consumed..];
        }

        return characterCount > MaxDestinationNameCharacters ? "must be at most 200 characters" : null;
    }

    public static string? RatePerMinuteError(long ratePerMinuteMicros) =>
        RangeError(ratePerMinuteMicros, 0, MoneyLimits.MaxRatePerMinuteMicros);

    public static string? ConnectionFeeError(long connectionFeeMicros) =>
        RangeError(connectionFeeMicros, 0, MoneyLimits.MaxConnectionFeeMicros);

    public static string? IncrementError(long incrementSeconds) =>
        RangeError(incrementSeconds, 1, MoneyLimits.MaxIncrementSeconds);

    public static string? EffectiveFromError(DateTimeOffset? effectiveFrom)
    {
        if (effectiveFrom is null)
        {
            return "is required: a valid UTC time";
        }

        return effectiveFrom.Value.Offset == TimeSpan.Zero ? null : "must be a UTC time (offset +00:00)";
    }

    /// <summary>Throws when <paramref name="reason"/> is not null: the field named <paramref name="parameterName"/> broke a rule.</summary>
    public static void ThrowIfBroken(string? reason, string fieldName, string parameterName)
    {
        if (reason is not null)
        {
            ThrowBroken(reason, fieldName, parameterName);
        }
    }

    [DoesNotReturn]
    private static void ThrowBroken(string reason, string fieldName, string parameterName) =>
        throw new ArgumentException(fieldName + " " + reason + ".", parameterName);

    private static string? RangeError(long value, long minimum, long maximum) =>
        value >= minimum && value <= maximum
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"must be from {minimum} to {maximum}, got {value}");
}
