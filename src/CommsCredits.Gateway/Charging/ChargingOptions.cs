namespace CommsCredits.Gateway.Charging;

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

/// <summary>How grants are sized and how long sessions are remembered. Section "Charging".</summary>
public sealed class ChargingOptions
{
    public const string SectionName = "Charging";

    /// <summary>The slice granted when a request asks for 0 seconds (no Requested-Service-Unit).</summary>
    [Range(1, 86_400)]
    public int DefaultGrantSeconds { get; set; } = 60;

    /// <summary>The largest slice granted at once, whatever is requested: a smaller slice holds less money per call.</summary>
    [Range(1, 86_400)]
    public int MaxGrantSeconds { get; set; } = 900;

    /// <summary>Validity-Time of a grant: the network element must report on it within this many seconds.</summary>
    [Range(1, 86_400)]
    public int ValiditySeconds { get; set; } = 900;

    /// <summary>
    /// How long a finished session (and a denied one, and an event) is remembered, so that retries get their first
    /// answer. Afterwards a retry of an Update or Terminate gets UNKNOWN_SESSION_ID and still changes nothing.
    /// </summary>
    [Range(60, 604_800)]
    public int SessionRetentionSeconds { get; set; } = 3_600;

    /// <summary>Most requests one session may make; each keeps its answer for retries until the session is forgotten.</summary>
    [Range(2, 1_000_000)]
    public int MaxRequestsPerSession { get; set; } = 10_000;

    /// <summary>
    /// Most sessions one tenant may have open at once (RESOURCE_EXHAUSTED beyond): bounds a tenant's hot state, and
    /// the sessions a rebuild of it restores from the session journal.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxOpenSessionsPerTenant { get; set; } = 100_000;

    /// <summary>
    /// How long a Reserve waits for its session's opening to be in PostgreSQL, which lets the session survive the loss
    /// of Redis. A ledger slower than this (or failing) does not stop new calls: the Reserve is answered from Redis and
    /// the opening is written when the ledger can take it.
    /// </summary>
    [Range(1, 10_000)]
    public int ReserveDurabilityWaitMs { get; set; } = 250;

    /// <summary>Largest amount one Refund event may credit, in micro-units.</summary>
    [Range(1, 1_000_000_000_000_000)]
    public long MaxRefundMicros { get; set; } = 1_000_000_000;
}

/// <summary>Checks what data annotations cannot: relations between settings.</summary>
public sealed class ChargingOptionsValidator : IValidateOptions<ChargingOptions>
{
    public ValidateOptionsResult Validate(string? name, ChargingOptions options)
    {
        if (options.DefaultGrantSeconds > options.MaxGrantSeconds)
        {
            return ValidateOptionsResult.Fail($"Charging:DefaultGrantSeconds ({options.DefaultGrantSeconds}) must not exceed Charging:MaxGrantSeconds ({options.MaxGrantSeconds})");
        }

        return ValidateOptionsResult.Success;
    }
}
