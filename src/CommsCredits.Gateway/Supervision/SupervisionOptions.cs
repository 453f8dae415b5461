namespace CommsCredits.Gateway.Supervision;

using System.ComponentModel.DataAnnotations;

/// <summary>
/// Session supervision (RFC 8506 section 5.1, Tcc): how an open session that its network element stopped reporting on
/// is closed. Section "Supervision".
/// </summary>
public sealed class SupervisionOptions
{
    public const string SectionName = "Supervision";

    /// <summary>Whether this process runs the supervisor. Every gateway may: a session is closed exactly once.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How long past its grant's validity time a session may stay silent before it is closed. Unset: the validity time
    /// itself, so a session is closed after twice the validity time without an Update or Terminate.
    /// </summary>
    [Range(0, 86_400)]
    public int? GraceSeconds { get; set; }

    /// <summary>What closing a silent session charges: release (the RFC's default: nothing more) or debit (the last grant, as if used in full).</summary>
    public SupervisionPolicy Policy { get; set; } = SupervisionPolicy.Release;

    /// <summary>How often the supervisor looks for silent sessions.</summary>
    [Range(1, 3_600)]
    public int IntervalSeconds { get; set; } = 5;

    /// <summary>Tenants read from PostgreSQL per page of one round.</summary>
    [Range(1, 100_000)]
    public int TenantPageSize { get; set; } = 1_000;

    /// <summary>Most sessions of one tenant closed in one round; the rest wait for the next round.</summary>
    [Range(1, 100_000)]
    public int MaxClosuresPerTenantPerRound { get; set; } = 1_000;

    /// <summary>Most steps of closed sessions removed from the session journal per round (SessionJournal.PurgeAsync).</summary>
    [Range(1, 1_000_000)]
    public int MaxPurgedStepsPerRound { get; set; } = 10_000;

    /// <summary>Validity plus grace, in milliseconds, for a validity time of <paramref name="validitySeconds"/>.</summary>
    public long WindowMilliseconds(int validitySeconds) => (validitySeconds + (GraceSeconds ?? validitySeconds)) * 1_000L;
}

/// <summary>What the supervisor charges when it closes a silent session.</summary>
public enum SupervisionPolicy
{
    /// <summary>Release the hold; charge nothing more than was reported (RFC 8506's default).</summary>
    Release,

    /// <summary>Charge the last grant as if it had been used in full, then close.</summary>
    Debit,
}
