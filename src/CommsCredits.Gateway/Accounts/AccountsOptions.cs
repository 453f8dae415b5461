namespace CommsCredits.Gateway.Accounts;

using System.ComponentModel.DataAnnotations;

/// <summary>Limits of the admin API. Section "Accounts".</summary>
public sealed class AccountsOptions
{
    public const string SectionName = "Accounts";

    /// <summary>Largest single funding, in micro-units (default 1,000,000 units of the currency).</summary>
    [Range(1, 1_000_000_000_000_000)]
    public long MaxFundingMicros { get; set; } = 1_000_000_000_000;

    /// <summary>How long Redis remembers a funding's idempotency key; after that the ledger is asked.</summary>
    [Range(60, 31_536_000)]
    public int FundingKeyRetentionSeconds { get; set; } = 7 * 24 * 3_600;

    /// <summary>The most ledger entries one ListLedgerEntries page may ask for.</summary>
    [Range(1, 10_000)]
    public int MaxLedgerPageSize { get; set; } = 1_000;
}
