namespace CommsCredits.Gateway.Ledger;

using System.Globalization;
using CommsCredits.Gateway.Balances;

/// <summary>
/// Reads the settlements that the Lua scripts write to the pending hash (common.lua, function settlement). The field
/// order here is the contract with that function.
/// </summary>
public static class SettlementCodec
{
    private const int CommonFieldCount = 18;
    private const int CallFieldCount = 20;
    private const int StepFieldCount = 12;

    public static Settlement Decode(string tenantId, string encoded)
    {
        var fields = Netstrings.Decode(encoded);
        var hasCall = fields.Length >= CommonFieldCount && string.Equals(fields[17], "1", StringComparison.Ordinal);
        var stepStart = CommonFieldCount + (hasCall ? CallFieldCount : 0);
        // Settlements written before the session journal have no step.
        if (fields.Length != stepStart && fields.Length != stepStart + StepFieldCount)
        {
            throw new FormatException(
                $"a settlement has {CommonFieldCount} fields, {CallFieldCount} more with a call record and {StepFieldCount} more with a session step, not {fields.Length}");
        }

        var epoch = Netstrings.ParseInteger(fields[0]);
        var operation = Netstrings.ParseInteger(fields[1]);
        var occurredAt = FromMilliseconds(fields[2]);
        var kind = Netstrings.ParseInteger(fields[3]);
        var amount = Netstrings.ParseInteger(fields[4]);
        var sessionId = NullIfEmpty(fields[5]);
        var requestNumber = NullableLong(fields[6]);
        var sessionNumber = NullableLong(fields[7]);
        var lot = fields[10].Length == 0 ? null : new NewLot((LotSource)Netstrings.ParseInteger(fields[11]), FromMilliseconds(fields[10]));
        LedgerEntry? entry = kind == 0
            ? null
            : new LedgerEntry((LedgerEntryKind)kind, amount, sessionId, requestNumber, sessionNumber, NullIfEmpty(fields[8]), NullIfEmpty(fields[9]), lot, DecodeDraws(fields[12]));
        var poolUse = fields[13].Length == 0 ? null : new PoolUse(fields[13], Netstrings.ParseInteger(fields[14]), ParseMonth(fields[15]));
        var call = hasCall ? DecodeCall(fields.AsSpan(CommonFieldCount), sessionNumber, sessionId) : null;
        var events = fields[16].Length == 0 ? [] : Array.ConvertAll(fields[16].Split(';'), SettlementEvent.Parse);
        var step = fields.Length > stepStart ? DecodeStep(fields.AsSpan(stepStart), sessionNumber, sessionId, hasCall) : null;
        return Checked(new Settlement(tenantId, epoch, operation, occurredAt, entry, poolUse, call) { Events = events, Step = step });
    }

    private static SessionStep DecodeStep(ReadOnlySpan<string> s, long? sessionNumber, string? sessionId, bool hasCall)
    {
        var kind = (SessionStepKind)Netstrings.ParseInteger(s[0]);
        if (kind is not (SessionStepKind.Opening or SessionStepKind.Update or SessionStepKind.Closing) || sessionNumber is not { } number || sessionId is null)
        {
            throw new FormatException($"'{s[0]}' is not a session step kind, or the step has no session number or id");
        }

        if ((kind == SessionStepKind.Closing) != hasCall || (kind == SessionStepKind.Opening) != (s[11].Length > 0))
        {
            throw new FormatException($"a {kind} step must have a call record exactly when it closes, and opening fields exactly when it opens");
        }

        return new SessionStep(
            kind,
            SessionEpoch: Netstrings.ParseInteger(s[1]),
            SessionNumber: number,
            SessionId: sessionId,
            Request: s[2],
            UsedSeconds: Netstrings.ParseInteger(s[3]),
            ChargedMicros: Netstrings.ParseInteger(s[4]),
            PoolSeconds: Netstrings.ParseInteger(s[5]),
            AllottedSeconds: Netstrings.ParseInteger(s[6]),
            HoldMicros: Netstrings.ParseInteger(s[7]),
            GrantedSeconds: Netstrings.ParseInteger(s[8]),
            DeadlineAt: FromMilliseconds(s[9]),
            Answer: s[10],
            OpeningFields: s[11].Length == 0 ? null : s[11]);
    }

    /// <summary>
    /// Checks that an entry's lots agree with its amount before it goes anywhere near the ledger: a positive entry
    /// creates one lot, a negative one draws exactly its amount.
    /// </summary>
    private static Settlement Checked(Settlement settlement)
    {
        if (settlement.Step is { } step && step.ChargedMicros != -(settlement.Entry?.AmountMicros ?? 0))
        {
            throw new FormatException(
                $"settlement {settlement.Epoch}.{settlement.OperationNumber} of tenant {settlement.TenantId}: its session step charged {step.ChargedMicros}, its entry {settlement.Entry?.AmountMicros ?? 0}");
        }

        if (settlement.Entry is not { } entry)
        {
            return settlement;
        }

        long drawn = 0;
        var positiveDraws = true;
        foreach (var draw in entry.Draws)
        {
            positiveDraws &= draw.AmountMicros > 0;
            drawn = checked(drawn + draw.AmountMicros);
        }

        var consistent = positiveDraws && (entry.AmountMicros > 0
            ? entry.Lot is not null && entry.Draws.Count == 0
            : entry.Lot is null && drawn == -entry.AmountMicros);
        return consistent
            ? settlement
            : throw new FormatException(
                $"settlement {settlement.Epoch}.{settlement.OperationNumber} of tenant {settlement.TenantId}: its lots do not match its amount {entry.AmountMicros}");
    }

    private static LotDraw[] DecodeDraws(string text)
    {
        if (text.Length == 0)
        {
            return [];
        }

        var parts = text.Split(';');
        var draws = new LotDraw[parts.Length];
        for (var index = 0; index < parts.Length; index++)
        {
            var colon = parts[index].IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new FormatException($"'{parts[index]}' is not a lot draw (lot:micros)");
            }

            draws[index] = new LotDraw(EntryKey.Parse(parts[index][..colon]), Netstrings.ParseInteger(parts[index][(colon + 1)..]));
        }

        return draws;
    }

    /// <summary>A month as the scripts write it, "YYYYMM".</summary>
    public static DateOnly ParseMonth(string text) =>
        text.Length == 6 && int.TryParse(text.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year)
            && int.TryParse(text.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var month) && month is >= 1 and <= 12
            ? new DateOnly(year, month, 1)
            : throw new FormatException($"'{text}' is not a month (YYYYMM)");

    /// <summary>The month of a moment, UTC, as the scripts count pools: "YYYYMM".</summary>
    /// <remarks>Written digit by digit: every Reserve, Update and Terminate sends it, and a custom date format string is
    /// parsed on each call. Years are 1 to 9999, so four digits, zero-padded as "yyyy" pads them.</remarks>
    public static string FormatMonth(DateTimeOffset moment)
    {
        var utc = moment.UtcDateTime;
        return string.Create(6, (utc.Year, utc.Month), static (text, month) =>
        {
            text[0] = (char)('0' + (month.Year / 1000));
            text[1] = (char)('0' + (month.Year / 100 % 10));
            text[2] = (char)('0' + (month.Year / 10 % 10));
            text[3] = (char)('0' + (month.Year % 10));
            text[4] = (char)('0' + (month.Month / 10));
            text[5] = (char)('0' + (month.Month % 10));
        });
    }

    private static CallRecord DecodeCall(ReadOnlySpan<string> c, long? sessionNumber, string? sessionId) =>
        new(
            SessionNumber: sessionNumber ?? throw new FormatException("a call record needs a session number"),
            SessionId: sessionId ?? throw new FormatException("a call record needs a session id"),
            UserId: c[0],
            CallType: int.Parse(c[1], NumberStyles.None, CultureInfo.InvariantCulture),
            CallingNumber: c[2],
            CalledNumber: c[3],
            StartedAt: FromMilliseconds(c[4]),
            EndedAt: FromMilliseconds(c[5]),
            UsedSeconds: Netstrings.ParseInteger(c[6]),
            BilledSeconds: Netstrings.ParseInteger(c[7]),
            ChargeMicros: Netstrings.ParseInteger(c[8]),
            UnchargedMicros: Netstrings.ParseInteger(c[9]),
            DestinationName: c[10],
            RatedPrefix: c[11],
            RatePerMinuteMicros: Netstrings.ParseInteger(c[12]),
            ConnectionFeeMicros: Netstrings.ParseInteger(c[13]),
            FirstIncrementSeconds: int.Parse(c[14], NumberStyles.None, CultureInfo.InvariantCulture),
            NextIncrementSeconds: int.Parse(c[15], NumberStyles.None, CultureInfo.InvariantCulture),
            RateEffectiveFrom: FromMilliseconds(c[16]),
            TerminationCause: int.Parse(c[17], NumberStyles.None, CultureInfo.InvariantCulture),
            IncludedSeconds: Netstrings.ParseInteger(c[18]),
            PoolId: NullIfEmpty(c[19]));

    private static DateTimeOffset FromMilliseconds(string text) => DateTimeOffset.FromUnixTimeMilliseconds(Netstrings.ParseInteger(text));

    private static string? NullIfEmpty(string text) => text.Length == 0 ? null : text;

    private static long? NullableLong(string text) => text.Length == 0 ? null : Netstrings.ParseInteger(text);
}
