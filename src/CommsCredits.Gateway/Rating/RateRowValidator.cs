using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating.Internal;

namespace CommsCredits.Gateway.Rating;

/// <summary>A field of one rate version that breaks a rule; <see cref="Field"/> is the API's field name.</summary>
public sealed record RateRowError(string Field, string Reason)
{
    public override string ToString() => Field + " " + Reason;
}

/// <summary>
/// Why an import is refused: the first bad row by its 1-based number (null when the import as
/// a whole is wrong), the field to fix, and, for a duplicate, the earlier row it repeats.
/// </summary>
public sealed record RateImportError(int? RowNumber, string Field, string Reason, int? DuplicateOfRowNumber = null)
{
    /// <summary>A message for the INVALID_ARGUMENT answer: "row 3: prefix must be at most 15 digits".</summary>
    public string Message => RowNumber is { } rowNumber
        ? string.Create(CultureInfo.InvariantCulture, $"row {rowNumber}: {Field} {Reason}")
        : Field + " " + Reason;

    public override string ToString() => Message;
}

/// <summary>
/// Checks rate versions before anything is stored: an import is all or nothing, so every row
/// is checked first and the first bad one is reported by number and field.
/// </summary>
public static class RateRowValidator
{
    /// <summary>The API's limit on rows per ImportRates request (accounts.proto).</summary>
    public const int MaxRowsPerImport = 100_000;

    /// <summary>The first broken rule of <paramref name="row"/>, in field order; null when the row is valid.</summary>
    public static RateRowError? ValidateRow(RateVersionCandidate row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return Broken("call_type", TariffRules.CallTypeError(row.CallType))
            ?? Broken("prefix", TariffRules.PrefixError(row.Prefix))
            ?? Broken("destination_name", TariffRules.DestinationNameError(row.DestinationName))
            ?? Broken("rate_per_minute_micros", TariffRules.RatePerMinuteError(row.RatePerMinuteMicros))
            ?? Broken("connection_fee_micros", TariffRules.ConnectionFeeError(row.ConnectionFeeMicros))
            ?? Broken("first_increment_seconds", TariffRules.IncrementError(row.FirstIncrementSeconds))
            ?? Broken("next_increment_seconds", TariffRules.IncrementError(row.NextIncrementSeconds))
            ?? Broken("effective_from", TariffRules.EffectiveFromError(row.EffectiveFrom));
    }

    /// <summary>
    /// The first problem of a whole import, in row order: a bad field, or a row with the same
    /// call type, prefix and effective_from as an earlier row. Null when every row may be stored.
    /// </summary>
    public static RateImportError? ValidateImport(IReadOnlyList<RateVersionCandidate> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count is 0 or > MaxRowsPerImport)
        {
            return new RateImportError(
                null,
                "rows",
                string.Create(CultureInfo.InvariantCulture, $"must hold 1 to {MaxRowsPerImport} rows, got {rows.Count}"));
        }

        var firstRowNumberOfKey = new Dictionary<(CallType, string, long), int>(rows.Count);
        for (var index = 0; index < rows.Count; index++)
        {
            var rowNumber = index + 1;
            var row = rows[index];
            if (ValidateRow(row) is { } rowError)
            {
                return new RateImportError(rowNumber, rowError.Field, rowError.Reason);
            }

            var key = (row.CallType, row.Prefix!, row.EffectiveFrom!.Value.UtcTicks);
            if (firstRowNumberOfKey.TryGetValue(key, out var earlierRowNumber))
            {
                return new RateImportError(
                    rowNumber,
                    "effective_from",
                    string.Create(CultureInfo.InvariantCulture, $"repeats row {earlierRowNumber}: same call_type, prefix and effective_from"),
                    earlierRowNumber);
            }

            firstRowNumberOfKey.Add(key, rowNumber);
        }

        return null;
    }

    private static RateRowError? Broken(string field, string? reason) =>
        reason is null ? null : new RateRowError(field, reason);
}
