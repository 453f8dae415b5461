namespace CommsCredits.Gateway.Hosting;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Accounts;
using Google.Protobuf.WellKnownTypes;

/// <summary>
/// The demo tenant that `make run` creates: tenant "demo" in EUR, funded with 100 EUR once, and a small rate table
/// for each call type. Running it again changes nothing (the funding has a fixed idempotency key; the rates are the
/// same rows).
/// </summary>
public static class DemoSeed
{
    public const string TenantId = "demo";
    public const long FundingMicros = 100_000_000;
    public const string FundingKey = "demo-seed-initial-funding";

    public static async Task<AccountBalance> RunAsync(AccountAdministration administration, CancellationToken cancellationToken)
    {
        await administration.CreateTenantAsync(new CreateTenantRequest { TenantId = TenantId, Currency = "EUR", DisplayName = "Demo tenant" }, cancellationToken);
        var import = new ImportRatesRequest { TenantId = TenantId };
        import.Rows.AddRange(Rates());
        await administration.ImportRatesAsync(import, cancellationToken);
        await administration.AddFundsAsync(
            new AddFundsRequest
            {
                TenantId = TenantId,
                Amount = new Contracts.V1.Money { AmountMicros = FundingMicros, Currency = "EUR" },
                IdempotencyKey = FundingKey,
                Reference = "make run demo funding",
            },
            cancellationToken);
        return await administration.GetBalanceAsync(new GetBalanceRequest { TenantId = TenantId }, cancellationToken);
    }

    /// <summary>Prices in EUR micro-units per minute; effective since 2024-01-01.</summary>
    public static IEnumerable<RateRow> Rates()
    {
        var since = Timestamp.FromDateTimeOffset(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
        RateRow Row(CallType type, string prefix, string name, long rate, long fee, uint first, uint next) => new()
        {
            CallType = type, Prefix = prefix, DestinationName = name, RatePerMinuteMicros = rate, ConnectionFeeMicros = fee,
            FirstIncrementSeconds = first, NextIncrementSeconds = next, EffectiveFrom = since,
        };

        yield return Row(CallType.OutboundPstn, "1", "United States and Canada", 10_000, 0, 1, 1);
        yield return Row(CallType.OutboundPstn, "44", "United Kingdom - Fixed", 15_000, 0, 60, 1);
        yield return Row(CallType.OutboundPstn, "447", "United Kingdom - Mobile", 60_000, 0, 60, 1);
        yield return Row(CallType.OutboundPstn, "49", "Germany - Fixed", 12_000, 0, 60, 1);
        yield return Row(CallType.OutboundPstn, "4915", "Germany - Mobile", 70_000, 0, 60, 1);
        yield return Row(CallType.OutboundPstn, "4916", "Germany - Mobile", 70_000, 0, 60, 1);
        yield return Row(CallType.OutboundPstn, "4917", "Germany - Mobile", 70_000, 0, 60, 1);
        yield return Row(CallType.OutboundPstn, "33", "France - Fixed", 13_000, 0, 60, 1);
        yield return Row(CallType.OutboundPstn, "336", "France - Mobile", 65_000, 0, 60, 1);
        yield return Row(CallType.OutboundPstn, "353", "Ireland", 20_000, 0, 60, 60);
        yield return Row(CallType.ConferenceDialOut, "1", "United States and Canada", 15_000, 10_000, 60, 60);
        yield return Row(CallType.ConferenceDialOut, "44", "United Kingdom", 20_000, 10_000, 60, 60);
        yield return Row(CallType.ConferenceDialOut, "49", "Germany", 20_000, 10_000, 60, 60);
        yield return Row(CallType.TollFreeInbound, "1", "Callers in United States and Canada", 20_000, 0, 60, 60);
        yield return Row(CallType.TollFreeInbound, "44", "Callers in United Kingdom", 30_000, 0, 60, 60);
        yield return Row(CallType.TollFreeInbound, "49", "Callers in Germany", 35_000, 0, 60, 60);
    }
}
