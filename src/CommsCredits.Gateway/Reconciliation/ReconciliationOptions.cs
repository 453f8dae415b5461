namespace CommsCredits.Gateway.Reconciliation;

using System.ComponentModel.DataAnnotations;

/// <summary>The reconciliation of Redis, the ledger and the call records, and its scheduled job. Section "Reconciliation".</summary>
public sealed class ReconciliationOptions
{
    public const string SectionName = "Reconciliation";

    /// <summary>How often the scheduled job reconciles every tenant; 0 turns the job off.</summary>
    [Range(0, 86_400)]
    public int IntervalSeconds { get; set; } = 300;

    /// <summary>
    /// Whether the scheduled job also runs in serve. It always runs in worker (when IntervalSeconds is not 0); a gateway
    /// runs it only when asked, so that a fleet of gateways does not reconcile every tenant once per gateway.
    /// </summary>
    public bool ScheduleInServe { get; set; }

    /// <summary>
    /// Whether the scheduled job rebuilds a drifted tenant's Redis state from the ledger by itself. Off by default: drift
    /// is a bug or an intervention to look at, and a rebuild ends the tenant's calls in progress.
    /// </summary>
    public bool RepairAutomatically { get; set; }

    /// <summary>The most tenants one run (of the job, or of the reconcile command) checks; the job's next run goes on from there.</summary>
    [Range(1, 1_000_000)]
    public int TenantsPerRun { get; set; } = 100_000;

    /// <summary>Tenants read from PostgreSQL per page (keyset paging on tenant_id).</summary>
    [Range(1, 10_000)]
    public int PageSize { get; set; } = 500;

    /// <summary>
    /// The most pending settlements of one tenant that a check reads from Redis. A tenant with more cannot be checked
    /// (its pending work is not accounted for) and is reported as drift: that many unsettled operations is a problem.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxPendingSettlements { get; set; } = 10_000;

    /// <summary>
    /// How long to wait before checking a drifted tenant a second time. Redis and the ledger are read one after the
    /// other; a rebuild or a crashed gateway's settlement landing in between can look like drift once. Only drift that
    /// is still there on the second check is reported.
    /// </summary>
    [Range(0, 60_000)]
    public int ConfirmDelayMs { get; set; } = 250;
}
