namespace CommsCredits.Chaos;

using System.Collections.Concurrent;

/// <summary>
/// What the clients sent and what they were told, per session (a call, or a Debit event): the invariant checks compare
/// it with the ledger. A session is driven by one call loop at a time, so its record needs no lock.
/// </summary>
public sealed class SessionRecord(string tenantId, string sessionId, Tariff tariff, bool isEvent)
{
    public string TenantId { get; } = tenantId;

    public string SessionId { get; } = sessionId;

    public Tariff Tariff { get; } = tariff;

    public bool IsEvent { get; } = isEvent;

    /// <summary>Used seconds of every request number sent at least once (retries resend the same): what the gateway may charge for.</summary>
    public IDictionary<uint, uint> UsedSecondsByRequest { get; } = new Dictionary<uint, uint>();

    /// <summary>The largest session_charged (or a Debit's charge) answered with 2001: what the ledger must at least hold.</summary>
    public long MaxAckedChargedMicros { get; set; }

    /// <summary>The session_charged of an acknowledged Terminate (or Debit): the ledger must hold exactly this, and one call record with it.</summary>
    public long? FinalAckedChargedMicros { get; set; }

    public bool Abandoned { get; set; }

    /// <summary>An Update or Terminate was answered UNKNOWN_SESSION_ID: only session supervision closing the call may explain it.</summary>
    public bool EndedByUnknownSession { get; set; }

    /// <summary>The most the reported usage can cost: cost(billed(sum of used seconds, each request number once)).</summary>
    public long MaxChargeableMicros => Tariff.CostMicros(UsedSecondsByRequest.Values.Sum(seconds => (long)seconds));
}

/// <summary>Everything observed in one chaos process, over all runs.</summary>
public sealed class Observations
{
    private long calls;
    private long acked;
    private long endedUnknownSession;
    private long abandoned;
    private long retries;
    private long duplicatesSent;
    private long shortDeadlines;
    private long denied;
    private long redisLosses;

    public ConcurrentQueue<SessionRecord> Sessions { get; } = new();

    /// <summary>Findings made while the load runs: two answers to one request that differ, a status no retry can fix.</summary>
    public ConcurrentQueue<string> Violations { get; } = new();

    public long Calls => Interlocked.Read(ref calls);

    public long Acked => Interlocked.Read(ref acked);

    public long EndedUnknownSession => Interlocked.Read(ref endedUnknownSession);

    public long Abandoned => Interlocked.Read(ref abandoned);

    public long Retries => Interlocked.Read(ref retries);

    public long DuplicatesSent => Interlocked.Read(ref duplicatesSent);

    public long ShortDeadlines => Interlocked.Read(ref shortDeadlines);

    public long Denied => Interlocked.Read(ref denied);

    /// <summary>Faults so far that lost Redis' state (restart, FLUSHALL): sessions open then are restored from the session journal.</summary>
    public long RedisLosses => Interlocked.Read(ref redisLosses);

    public void RedisLost() => Interlocked.Increment(ref redisLosses);

    public void CallStarted(SessionRecord session)
    {
        Interlocked.Increment(ref calls);
        Sessions.Enqueue(session);
    }

    public void AckedCharge() => Interlocked.Increment(ref acked);

    public void EndedByUnknownSession() => Interlocked.Increment(ref endedUnknownSession);

    public void CallAbandoned() => Interlocked.Increment(ref abandoned);

    /// <summary>Calls whose SBC went silent on purpose, left to session supervision.</summary>
    public long WentSilent => Interlocked.Read(ref wentSilent);

    private long wentSilent;

    public void CallWentSilent() => Interlocked.Increment(ref wentSilent);

    public void Retried() => Interlocked.Increment(ref retries);

    public void DuplicateSent() => Interlocked.Increment(ref duplicatesSent);

    public void ShortDeadlineSent() => Interlocked.Increment(ref shortDeadlines);

    public void CallDenied() => Interlocked.Increment(ref denied);
}
