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
    string Fingerprint)
{
    public static HotAnswer Decode(string encoded)
    {
        var fields = Netstrings.Decode(encoded);
        if (fields.Length != 11)
        {
            throw new FormatException($"a stored answer has 11 fields, not {fields.Length}");
        }

        return new HotAnswer(
            (int)Netstrings.Long(fields[0]),
            Netstrings.Long(fields[1]),
            Netstrings.Long(fields[2]),
            fields[3] == "1",
            Netstrings.Long(fields[4]),
            Netstrings.Long(fields[5]),
            Netstrings.Long(fields[6]),
            Netstrings.Long(fields[7]),
            Netstrings.Long(fields[8]),
            Netstrings.Long(fields[9]),
            fields[10]);
    }
}
