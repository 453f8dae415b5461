namespace CommsCredits.Gateway.BalanceWatch;

using System.ComponentModel.DataAnnotations;

/// <summary>Balances/Watch: how often a watched tenant's balance is read, and how many watches one gateway serves.</summary>
public sealed class BalanceWatchOptions
{
    public const string SectionName = "BalanceWatch";

    /// <summary>How often the balance of a tenant with watchers is read: the longest a change waits to be pushed.</summary>
    [Range(10, 60_000)]
    public int IntervalMs { get; set; } = 250;

    /// <summary>The most Watch streams open at once on this gateway; one more is refused with RESOURCE_EXHAUSTED.</summary>
    [Range(1, 100_000)]
    public int MaxWatchers { get; set; } = 1_000;
}
