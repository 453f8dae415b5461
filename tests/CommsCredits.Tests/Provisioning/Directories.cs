namespace CommsCredits.Tests.Provisioning;

using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Tests.Charging;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

/// <summary>Requests and probes for the Directory tests.</summary>
public static class Directories
{
    public static DirectoryClient Client(GatewayInstance gateway) => new(gateway.Channel, gateway.AdminKey);

    public static PutUserRequest User(
        string tenantId,
        string userId,
        CallingPlan plan = CallingPlan.Domestic,
        string country = "GB",
        bool creditsLicence = true,
        bool conferencing = false) => new()
    {
        TenantId = tenantId, UserId = userId, Upn = userId.Contains('@', StringComparison.Ordinal) ? userId : userId + "@test.example",
        DisplayName = "User " + userId, LocationCountry = country, CommunicationsCreditsLicence = creditsLicence, CallingPlan = plan,
        AudioConferencing = conferencing,
    };

    public static PutMinutePoolRequest Pool(
        string tenantId,
        string poolId,
        uint minutesPerLicence,
        string[] prefixes,
        string[]? countries = null,
        CallType callType = CallType.OutboundPstn,
        PoolEntitlement entitlement = PoolEntitlement.DomesticCallingPlan)
    {
        var pool = new PutMinutePoolRequest
        {
            TenantId = tenantId, PoolId = poolId, DisplayName = "Pool " + poolId, CallType = callType, Entitlement = entitlement,
            MinutesPerLicence = minutesPerLicence,
        };
        pool.CoveredPrefixes.Add(prefixes);
        pool.UserCountries.Add(countries ?? []);
        return pool;
    }

    /// <summary>The tenant's directory revision in PostgreSQL.</summary>
    public static async Task<long> RevisionAsync(GatewayInstance gateway, string tenantId)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.ExecuteScalarAsync<long>("SELECT directory_revision FROM tenants WHERE tenant_id = @tenantId", new { tenantId });
    }

    /// <summary>The directory the gateway's catalog holds for the tenant now (loading it if it holds none).</summary>
    public static async Task<TenantDirectory> CachedDirectoryAsync(GatewayInstance gateway, string tenantId)
    {
        var profile = await gateway.Services.GetRequiredService<TenantCatalog>().GetAsync(tenantId, CancellationToken.None);
        return profile?.Directory ?? throw new InvalidOperationException($"tenant {tenantId} is unknown to the gateway");
    }

    /// <summary>Waits until the gateway's catalog holds a directory that satisfies the condition; false after the timeout.</summary>
    public static async Task<bool> CatalogShowsAsync(GatewayInstance gateway, string tenantId, Func<TenantDirectory, bool> condition, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition(await CachedDirectoryAsync(gateway, tenantId)))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }
}
