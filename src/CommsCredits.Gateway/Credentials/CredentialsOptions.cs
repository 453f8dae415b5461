namespace CommsCredits.Gateway.Credentials;

using System.ComponentModel.DataAnnotations;

/// <summary>How the gateway remembers verified API keys and how fast it forgets revoked ones. Section "Credentials".</summary>
public sealed class CredentialsOptions
{
    public const string SectionName = "Credentials";

    /// <summary>
    /// How often a gateway checks the keys it holds in memory against PostgreSQL. A revocation normally reaches every
    /// gateway at once (a notification); this is the longest it takes when the notification was missed.
    /// </summary>
    [Range(1, 3_600)]
    public int RefreshIntervalSeconds { get; set; } = 30;

    /// <summary>Most keys held in memory; past it, one is dropped for each new one (and loaded again when next used).</summary>
    [Range(1, 10_000_000)]
    public int MaxCachedKeys { get; set; } = 100_000;

    /// <summary>How long an unknown or revoked key id is remembered as such, so that retries with it do not reach PostgreSQL.</summary>
    [Range(0, 3_600)]
    public int UnknownKeyCacheSeconds { get; set; } = 30;

    /// <summary>Most unknown key ids remembered; past it the memory is cleared.</summary>
    [Range(1, 10_000_000)]
    public int MaxUnknownKeys { get; set; } = 100_000;

    /// <summary>
    /// Most key lookups in PostgreSQL at once. Remembering unknown ids does not stop a flood of different made-up
    /// ids; this bound does: such a flood costs at most this many PostgreSQL connections.
    /// </summary>
    [Range(1, 256)]
    public int MaxConcurrentKeyLoads { get; set; } = 4;

    /// <summary>Most distinct key ids waiting for a lookup; past it a call with a key not in memory gets UNAVAILABLE.</summary>
    [Range(1, 1_000_000)]
    public int MaxWaitingKeyLoads { get; set; } = 1_000;
}
