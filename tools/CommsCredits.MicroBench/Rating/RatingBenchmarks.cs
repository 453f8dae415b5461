namespace CommsCredits.MicroBench.Rating;

using System.Reflection;
using BenchmarkDotNet.Attributes;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Tenants;
using Microsoft.Extensions.Options;

/// <summary>
/// Rating as a Reserve does it: the longest-prefix lookup in a 50,000-prefix table, CallRating.RateAsync on a tenant
/// already in the catalog (the steady state: no PostgreSQL), and the tariff arithmetic of a grant and of a call's cost.
/// </summary>
[MemoryDiagnoser]
public class RatingBenchmarks
{
    private RateBook book = RateBook.Empty;
    private string[] numbers = [];
    private CallRating rating = null!;
    private Tariff tariff = null!;
    private int next;

    [GlobalSetup]
    public void Setup()
    {
        book = new RateBook(SampleData.RateTable(out numbers));
        tariff = new Tariff("United Kingdom - Mobile", "447", 1_200_000, 10_000, 60, 1, SampleData.RatesFrom);
        var catalog = new TenantCatalog(null!, null!, Options.Create(new TenantCatalogOptions()), TimeProvider.System);
        var tenant = new TenantRecord(SampleData.TenantId, "EUR", "Acme", SampleData.RatesFrom, 1, 12, "Europe/London", null, [5_000_000]);
        var user = new DirectoryUser(SampleData.UserId, "GB", CommunicationsCreditsLicence: true, CallingPlan.DomesticAndInternational, AudioConferencing: false);
        var directory = new TenantDirectory(1, [user], [], []);
        Seed(catalog, new TenantProfile(tenant, book, directory));
        rating = new CallRating(catalog, new FixedTime(SampleData.Now));
    }

    [Benchmark]
    public bool RateBookTryFind() => book.TryFind(CallType.OutboundPstn, NextNumber(), SampleData.Now, out _);

    [Benchmark]
    public Task<RatedCall> CallRatingRateAsync() =>
        rating.RateAsync(SampleData.TenantId, CallType.OutboundPstn, SampleData.UserId, SampleData.CallingNumber, NextNumber(), CancellationToken.None);

    /// <summary>What a grant and a call's final cost take (the same arithmetic tariff.lua runs inside Redis).</summary>
    [Benchmark]
    public long TariffMathGrantAndCost() =>
        TariffMath.AffordableTotalSeconds(1_060_000, 25_000_000, tariff, 3_600) + TariffMath.CallCostMicros(173, tariff);

    private string NextNumber() => numbers[next++ & (1024 - 1)];

    /// <summary>
    /// Puts a profile in the catalog's cache as a load from PostgreSQL would, so RateAsync runs its real steady-state
    /// path. Reflection because the cache is private; a rename fails this set-up loudly rather than measuring a miss.
    /// </summary>
    private static void Seed(TenantCatalog catalog, TenantProfile profile)
    {
        var field = typeof(TenantCatalog).GetField("profiles", BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new InvalidOperationException("TenantCatalog has no 'profiles' cache field any more; update RatingBenchmarks.Seed");
        var profiles = (System.Collections.Concurrent.ConcurrentDictionary<string, TenantProfile>)field.GetValue(catalog)!;
        profiles[profile.Tenant.TenantId] = profile;
    }

    /// <summary>A clock that always reads the same moment, so every run rates against the same tariff versions.</summary>
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
