namespace CommsCredits.Gateway.Hosting;

using System.Text;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Accounts;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Gateway.Provisioning;
using Google.Protobuf.WellKnownTypes;

/// <summary>
/// The demo tenant that `make run` creates: tenant "demo" in EUR, funded with 100 EUR once, a small rate table for
/// each call type, three users, a toll-free number and two minute pools. Running it again changes nothing (the
/// funding has a fixed idempotency key; the rates are the same rows; the directory's puts and assignment are
/// idempotent). Its API keys are new on every run: a key is shown only when it is created, so the keys of earlier
/// runs (found by their descriptions) are revoked and replaced.
/// </summary>
public static class DemoSeed
{
    public const string TenantId = "demo";
    public const long FundingMicros = 100_000_000;
    public const string FundingKey = "demo-seed-initial-funding";
    public const string NetworkElementKeyDescription = "seed-demo: network-element key for tenant demo (make call)";
    public const string AdminKeyDescription = "seed-demo: admin key for all tenants";
    public const string NetworkElementKeyVariable = "COMMSCREDITS_NETWORK_ELEMENT_KEY";
    public const string AdminKeyVariable = "COMMSCREDITS_ADMIN_KEY";

    public const string TollFreeNumber = "+448000000001";

    public static async Task<AccountBalance> RunAsync(AccountAdministration administration, DirectoryAdministration directory, CancellationToken cancellationToken)
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
        await SeedDirectoryAsync(directory, cancellationToken);
        return await administration.GetBalanceAsync(new GetBalanceRequest { TenantId = TenantId }, cancellationToken);
    }

    /// <summary>Revokes the demo keys of earlier runs, then creates a network-element key for tenant demo and an admin key.</summary>
    public static async Task<DemoKeys> CreateKeysAsync(ApiKeyStore keys, CancellationToken cancellationToken)
    {
        var revoked = (await keys.RevokeByDescriptionAsync(NetworkElementKeyDescription, cancellationToken)).Count
            + (await keys.RevokeByDescriptionAsync(AdminKeyDescription, cancellationToken)).Count;
        var networkElement = await keys.CreateAsync(ApiKeyRole.NetworkElement, TenantId, NetworkElementKeyDescription, cancellationToken);
        var admin = await keys.CreateAsync(ApiKeyRole.Admin, tenantId: null, AdminKeyDescription, cancellationToken);
        return new DemoKeys(networkElement, admin, revoked);
    }

    /// <summary>
    /// Writes the keys as shell variable assignments for `make call`, readable by the owner only. The file is written
    /// beside its final name and moved over it, so a reader never sees half of it and its mode is 0600 from the start.
    /// </summary>
    public static async Task WriteKeysFileAsync(string path, DemoKeys keys, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = full + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        File.Delete(temporary);
        await using (var writer = new StreamWriter(temporary, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), options))
        {
            await writer.WriteAsync(
                $"""
                # Written by `CommsCredits.Gateway seed-demo` (make run). Secret: the next seed-demo revokes these keys.
                {NetworkElementKeyVariable}={keys.NetworkElement.Key}
                {AdminKeyVariable}={keys.Admin.Key}

                """.AsMemory(),
                cancellationToken);
        }

        File.Move(temporary, full, overwrite: true);
    }

    /// <summary>What seed-demo prints about the keys: the one place they are shown.</summary>
    public static string Describe(DemoKeys keys, string? keysFile)
    {
        var where = keysFile is null ? string.Empty : $", also in {Path.GetFullPath(keysFile)} (mode 0600)";
        return $"""
            seed-demo: revoked {keys.RevokedEarlier} demo API key(s) of earlier runs
            seed-demo: API keys, shown only now{where}; send one as 'authorization: Bearer <key>':
              {"network-element, tenant " + TenantId,-30}{keys.NetworkElement.Key}
              {"admin, all tenants",-30}{keys.Admin.Key}

            """;
    }

    /// <summary>The demo users: every one in GB; the UPN is the user id the charging API carries.</summary>
    public static IEnumerable<PutUserRequest> Users()
    {
        PutUserRequest User(string name, bool creditsLicence, CallingPlan plan, bool conferencing) => new()
        {
            TenantId = TenantId, UserId = name.ToLowerInvariant() + "@demo.example", Upn = name.ToLowerInvariant() + "@demo.example",
            DisplayName = name, LocationCountry = "GB", CommunicationsCreditsLicence = creditsLicence, CallingPlan = plan, AudioConferencing = conferencing,
        };

        yield return User("Alice", creditsLicence: true, CallingPlan.Domestic, conferencing: true);
        yield return User("Bob", creditsLicence: false, CallingPlan.Domestic, conferencing: false);
        yield return User("Carol", creditsLicence: true, CallingPlan.PayAsYouGo, conferencing: false);
    }

    /// <summary>UK domestic calling-plan minutes, and conferencing dial-out minutes to a zone of three countries.</summary>
    public static IEnumerable<PutMinutePoolRequest> Pools()
    {
        var domestic = new PutMinutePoolRequest
        {
            TenantId = TenantId, PoolId = "gb-domestic", DisplayName = "UK domestic calling plan minutes", CallType = CallType.OutboundPstn,
            Entitlement = PoolEntitlement.DomesticCallingPlan, MinutesPerLicence = 3_000,
        };
        domestic.CoveredPrefixes.Add("44");
        domestic.UserCountries.Add("GB");
        yield return domestic;

        var conferencing = new PutMinutePoolRequest
        {
            TenantId = TenantId, PoolId = "conf-zone-a", DisplayName = "Conferencing dial-out, zone A", CallType = CallType.ConferenceDialOut,
            Entitlement = PoolEntitlement.AudioConferencing, MinutesPerLicence = 60,
        };
        conferencing.CoveredPrefixes.Add(["44", "33", "49"]);
        yield return conferencing;
    }

    private static async Task SeedDirectoryAsync(DirectoryAdministration directory, CancellationToken cancellationToken)
    {
        foreach (var user in Users())
        {
            await directory.PutUserAsync(user, cancellationToken);
        }

        await directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = TenantId, Number = TollFreeNumber }, cancellationToken);
        foreach (var pool in Pools())
        {
            await directory.PutMinutePoolAsync(pool, cancellationToken);
        }
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

/// <summary>The demo keys one seed-demo run created, and how many of earlier runs it revoked.</summary>
public sealed record DemoKeys(CreatedApiKey NetworkElement, CreatedApiKey Admin, int RevokedEarlier);
