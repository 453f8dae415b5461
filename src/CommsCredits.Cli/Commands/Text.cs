namespace CommsCredits.Cli.Commands;

using System.CommandLine;
using System.Globalization;
using CommsCredits.Cli.Money;
using Google.Protobuf.WellKnownTypes;
using ContractMoney = CommsCredits.Contracts.V1.Money;

/// <summary>How the commands print and read values: UTC ISO 8601 times, exact amounts.</summary>
internal static class Text
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

    public static string Time(Timestamp? timestamp) =>
        timestamp is null ? string.Empty : timestamp.ToDateTime().ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>An amount with its currency code ("50.00 EUR"); empty when unset.</summary>
    public static string Amount(ContractMoney? money) =>
        money is null ? string.Empty : MoneyText.Format(money.AmountMicros, money.Currency) + " " + money.Currency;

    /// <summary>An amount without its currency ("50.00"), for CSV; empty when unset.</summary>
    public static string Bare(ContractMoney? money) => money is null ? string.Empty : MoneyText.Format(money.AmountMicros, money.Currency);

    public static long ParseAmount(string text, string currency, string optionName)
    {
        if (!MoneyText.TryParse(text, currency, out var micros, out var error))
        {
            throw new UsageException(optionName + ": " + error);
        }

        return micros;
    }

    /// <summary>A date ("2026-11-01", midnight UTC) or an ISO 8601 instant with Z or an offset.</summary>
    public static DateTimeOffset ParseInstant(string text, string optionName)
    {
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return new DateTimeOffset(date, TimeOnly.MinValue, TimeSpan.Zero);
        }

        if (text.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant)
            && (text.EndsWith('Z') || text.LastIndexOfAny(['+', '-']) > text.IndexOf('T', StringComparison.Ordinal)))
        {
            return instant;
        }

        throw new UsageException($"{optionName} '{text}' is neither a date (2026-11-01) nor an ISO 8601 time with Z or an offset");
    }

    public static bool IsDateOnly(string text) => DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    public static Option<string> Required(string name, string description) => new(name) { Description = description, Required = true };

    public static Option<string> Tenant() => Required("--tenant", "The tenant id.");
}
