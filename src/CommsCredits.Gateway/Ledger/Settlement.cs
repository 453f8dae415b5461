namespace CommsCredits.Gateway.Ledger;

/// <summary>What a ledger entry records.</summary>
public enum LedgerEntryKind
{
    Funding = 1,
    Debit = 2,
    Refund = 3,

    /// <summary>What was left in expired funding lots, forfeited.</summary>
    Expiry = 4,
}

/// <summary>Where a funding lot's money came from.</summary>
public enum LotSource
{
    OneOffFunding = 1,
    AutoRecharge = 2,
    Refund = 3,
}

/// <summary>
/// The key of a ledger entry within its tenant: the epoch and operation number Redis gave it, never repeated, even across
/// hot-state rebuilds. Written "epoch.operation". It names what an entry creates or causes: the funding lot a funding
/// or refund creates, the recharge request a debit makes due, and a ledger page's position.
/// </summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
public readonly record struct EntryKey(long Epoch, long OperationNumber)
{
    public static EntryKey Parse(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            throw new FormatException($"'{text}' is not a lot id (epoch.operation)");
        }

        return new EntryKey(Balances.Netstrings.ParseInteger(text[..dot]), Balances.Netstrings.ParseInteger(text[(dot + 1)..]));
    }

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Epoch}.{OperationNumber}");
}

/// <summary>The lot a funding or refund entry creates: its whole amount, expiring at ExpiresAt.</summary>
public sealed record NewLot(LotSource Source, DateTimeOffset ExpiresAt);

/// <summary>What one debit or expiry took from one lot (a positive amount).</summary>
public sealed record LotDraw(EntryKey Lot, long AmountMicros);

/// <summary>
/// Everything one Redis operation must make durable: at most one ledger entry, one use of included minutes and one
/// call detail record, written together or not at all. (TenantId, Epoch, OperationNumber) identifies it for ever.
/// </summary>
public sealed record Settlement(
    string TenantId,
    long Epoch,
    long OperationNumber,
    DateTimeOffset OccurredAt,
    LedgerEntry? Entry,
    PoolUse? PoolUse,
    CallRecord? Call)
{
    /// <summary>What else the operation causes, written in the same transaction (see <see cref="SettlementEvent"/>).</summary>
    public IReadOnlyList<SettlementEvent> Events { get; init; } = [];

    /// <summary>The session step for the session journal, when the operation was a step of a session (Reserve, Update, closing).</summary>
    public SessionStep? Step { get; init; }

    /// <summary>The epoch that names the operation's session with its session number: the session's own, kept across rebuilds.</summary>
    public long SessionEpoch => Step?.SessionEpoch ?? Epoch;
}

/// <summary>What a session step is.</summary>
public enum SessionStepKind
{
    /// <summary>Reserve opened the session.</summary>
    Opening = 1,

    /// <summary>An Update reported usage and took the next slice.</summary>
    Update = 2,

    /// <summary>A Terminate, or the supervisor, closed the session; its call record ends the session's journal.</summary>
    Closing = 3,
}

/// <summary>
/// One step of a session in the session journal (table session_steps), so that a rebuild of the hot state can restore
/// the session (HotStateLoader). The session is (SessionEpoch, SessionNumber), its client's id SessionId. UsedSeconds, ChargedMicros and PoolSeconds are the step's own; AllottedSeconds,
/// HoldMicros, GrantedSeconds and DeadlineAt are the session's after it. Answer is the answer given, as the scripts
/// store it; OpeningFields (the opening only) are the session's fixed fields as name/value pairs.
/// </summary>
public sealed record SessionStep(
    SessionStepKind Kind,
    long SessionEpoch,
    long SessionNumber,
    string SessionId,
    string Request,
    long UsedSeconds,
    long ChargedMicros,
    long PoolSeconds,
    long AllottedSeconds,
    long HoldMicros,
    long GrantedSeconds,
    DateTimeOffset DeadlineAt,
    string Answer,
    string? OpeningFields);

/// <summary>
/// Something a settlement causes besides its ledger entry, written in the same transaction so that it happens exactly
/// when the entry does: a recharge request (a debit crossed the auto-recharge trigger), a notification (the balance
/// reached zero, funds expired), a recharge request marked paid (its funding). Value is empty or the event's argument.
/// </summary>
public sealed record SettlementEvent(string Name, string Value)
{
    public const string RechargeDue = "recharge_due";
    public const string BalanceReachedZero = "balance_reached_zero";
    public const string FundsExpired = "funds_expired";

    /// <summary>Value "level/balance after": a debit took the balance below a low-balance warning level.</summary>
    public const string LowBalance = "low_balance";

    /// <summary>Value "epoch.operation/balance after": the recharge request paid, and the balance the funding left.</summary>
    public const string RechargeSucceeded = "recharge_succeeded";

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { RechargeDue, BalanceReachedZero, FundsExpired, RechargeSucceeded, LowBalance };

    public static SettlementEvent Parse(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var name = equals < 0 ? text : text[..equals];
        return Known.Contains(name)
            ? new SettlementEvent(name, equals < 0 ? string.Empty : text[(equals + 1)..])
            : throw new FormatException($"'{name}' is not a settlement event");
    }
}

/// <summary>
/// One money movement. AmountMicros is signed: positive adds to the balance. A positive entry creates a lot (Lot);
/// a negative one says which lots paid (Draws, adding up to -AmountMicros).
/// </summary>
public sealed record LedgerEntry(
    LedgerEntryKind Kind,
    long AmountMicros,
    string? SessionId,
    long? RequestNumber,
    long? SessionNumber,
    string? Reference,
    string? Note,
    NewLot? Lot,
    IReadOnlyList<LotDraw> Draws);

/// <summary>Seconds of an included-minute pool used by one operation, counted in a calendar month (UTC).</summary>
public sealed record PoolUse(string PoolId, long Seconds, DateOnly Month);

/// <summary>The call detail record of a finished call.</summary>
public sealed record CallRecord(
    long SessionNumber,
    string SessionId,
    string UserId,
    int CallType,
    string CallingNumber,
    string CalledNumber,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    long UsedSeconds,
    long BilledSeconds,
    long ChargeMicros,
    long UnchargedMicros,
    string DestinationName,
    string RatedPrefix,
    long RatePerMinuteMicros,
    long ConnectionFeeMicros,
    int FirstIncrementSeconds,
    int NextIncrementSeconds,
    DateTimeOffset RateEffectiveFrom,
    int TerminationCause,
    long IncludedSeconds,
    string? PoolId);

/// <summary>How the ledger took a settlement.</summary>
public enum SettlementOutcome
{
    /// <summary>The ledger holds it (written now, or already there).</summary>
    Committed,

    /// <summary>
    /// The ledger refused it: it was applied under a hot-state epoch that has since been replaced, so it is not part of
    /// any balance. The request that produced it was not acknowledged.
    /// </summary>
    StaleEpoch,
}
