namespace CommsCredits.Gateway.Charging;

using CommsCredits.Gateway.Balances;

/// <summary>
/// A charging answer as the scripts store it (reserve.lua, usage.lua, debit_event.lua): the same fields for every
/// kind of request, so a retry is answered from what was stored.
/// </summary>
public sealed record HotAnswer(
    int ResultCode,
    long GrantedSeconds,
    long ValiditySeconds,
    bool FinalUnit,
    long ChargedMicros,
    long SessionChargedMicros,
    long ReservedMicros,
    long UsedSeconds,
    long BilledSeconds,
    long OperationNumber,
    string Fingerprint,
    long GrantedIncludedSeconds,
    long IncludedSecondsUsed)
{
    public static HotAnswer Decode(string encoded)
    {
        var fields = Netstrings.Decode(encoded);
        // Answers stored before included minutes existed have 11 fields.
        if (fields.Length is not 11 and not 13)
        {
            throw new FormatException($"a stored answer has 11 or 13 fields, not {fields.Length}");
        }

        return new HotAnswer(
            (int)Netstrings.ParseInteger(fields[0]),
            Netstrings.ParseInteger(fields[1]),
            Netstrings.ParseInteger(fields[2]),
            string.Equals(fields[3], "1", StringComparison.Ordinal),
            Netstrings.ParseInteger(fields[4]),
            Netstrings.ParseInteger(fields[5]),
            Netstrings.ParseInteger(fields[6]),
            Netstrings.ParseInteger(fields[7]),
            Netstrings.ParseInteger(fields[8]),
            Netstrings.ParseInteger(fields[9]),
            fields[10],
            fields.Length == 13 ? Netstrings.ParseInteger(fields[11]) : 0,
            fields.Length == 13 ? Netstrings.ParseInteger(fields[12]) : 0);
    }
}
