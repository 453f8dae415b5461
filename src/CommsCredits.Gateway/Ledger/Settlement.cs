namespace CommsCredits.Gateway.Ledger;

/// <summary>What a ledger entry records.</summary>
public enum LedgerEntryKind
{
    Funding = 1,
    Debit = 2,
    Refund = 3,
}

/// <summary>
/// Everything one Redis operation must make durable: at most one ledger entry and at most one call detail record,
/// written together or not at all. (TenantId, Epoch, OperationNumber) identifies it for ever.
/// </summary>
public sealed record Settlement(
    string TenantId,
    long Epoch,
    long OperationNumber,
    DateTimeOffset OccurredAt,
    LedgerEntry? Entry,
    CallRecord? Call);

/// <summary>One money movement. AmountMicros is signed: positive adds to the balance.</summary>
public sealed record LedgerEntry(
    LedgerEntryKind Kind,
    long AmountMicros,
    string? SessionId,
    long? RequestNumber,
    long? SessionNumber,
    string? Reference,
    string? Note);

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
    int TerminationCause);

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
