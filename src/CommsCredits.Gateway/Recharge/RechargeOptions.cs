namespace CommsCredits.Gateway.Recharge;

using System.ComponentModel.DataAnnotations;

/// <summary>The recharge worker. Section "Recharge".</summary>
public sealed class RechargeOptions
{
    public const string SectionName = "Recharge";

    /// <summary>Whether this process runs the worker (a gateway does by default; `worker` runs only it).</summary>
    public bool WorkerEnabled { get; set; } = true;

    /// <summary>How often the worker looks for due recharges.</summary>
    [Range(10, 60_000)]
    public int PollIntervalMs { get; set; } = 500;

    /// <summary>The most requests one worker claims at once.</summary>
    [Range(1, 1_000)]
    public int BatchSize { get; set; } = 16;

    /// <summary>How long a claim lasts; a worker that dies holding one frees it after this.</summary>
    [Range(1, 3_600)]
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>Charge attempts of one request before it fails (an unknown outcome is always resolved first).</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Backoff after a failed attempt: base times 2^(attempt−1), at most the maximum, with ±50% jitter.</summary>
    [Range(1, 3_600_000)]
    public int BackoffBaseMs { get; set; } = 1_000;

    [Range(1, 86_400_000)]
    public int BackoffMaxMs { get; set; } = 300_000;

    /// <summary>How long one provider call may take before its outcome counts as unknown.</summary>
    [Range(100, 600_000)]
    public int ProviderTimeoutMs { get; set; } = 10_000;

    /// <summary>How long the sandbox provider's "slow" payment methods take.</summary>
    [Range(0, 600_000)]
    public int SandboxSlowMs { get; set; } = 2_000;
}
