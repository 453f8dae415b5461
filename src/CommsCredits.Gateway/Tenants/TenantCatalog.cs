namespace CommsCredits.Gateway.Tenants;

using System.Collections.Concurrent;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Options;

/// <summary>
/// Tenants and their rate tables, held in memory so that a charging request never waits for PostgreSQL to rate a call.
/// A tenant is loaded on first use; its rates are reloaded when an import raises its revision (a notification, or the
/// periodic check of <see cref="TenantCatalogRefresher"/>).
/// </summary>
public sealed class TenantCatalog(TenantRepository repository, IOptions<TenantCatalogOptions> options, TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, TenantProfile> profiles = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> unknownUntilTicks = new(StringComparer.Ordinal);
    private readonly SingleFlight<TenantProfile?> loading = new();
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(30);
    private readonly TenantCatalogOptions settings = options.Value;

    /// <summary>The tenant's profile, or null when no such tenant exists.</summary>
    public ValueTask<TenantProfile?> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (profiles.TryGetValue(tenantId, out var profile))
        {
            return ValueTask.FromResult<TenantProfile?>(profile);
        }

        if (unknownUntilTicks.TryGetValue(tenantId, out var until) && until > timeProvider.GetUtcNow().UtcTicks)
        {
            return ValueTask.FromResult<TenantProfile?>(null);
        }

        return new ValueTask<TenantProfile?>(LoadOnceAsync(tenantId).WaitAsync(cancellationToken));
    }

    /// <summary>Reloads a tenant now (after an import here, or a notification from another gateway).</summary>
    public async Task RefreshAsync(string tenantId, CancellationToken cancellationToken)
    {
        var profile = await LoadAsync(tenantId, cancellationToken);
        if (profile is null)
        {
            profiles.TryRemove(tenantId, out _);
        }
    }

    /// <summary>The ids of the tenants held in memory.</summary>
    public string[] CachedTenantIds() => [.. profiles.Keys];

    /// <summary>The rates revision held in memory for a tenant, or null.</summary>
    public long? CachedRatesRevision(string tenantId) =>
        profiles.TryGetValue(tenantId, out var profile) ? profile.Tenant.RatesRevision : null;

    private Task<TenantProfile?> LoadOnceAsync(string tenantId) => loading.RunAsync(tenantId, LoadWithTimeoutAsync);

    private async Task<TenantProfile?> LoadWithTimeoutAsync(string tenantId)
    {
        using var timeout = new CancellationTokenSource(LoadTimeout);
        return await LoadAsync(tenantId, timeout.Token);
    }

    private async Task<TenantProfile?> LoadAsync(string tenantId, CancellationToken cancellationToken)
    {
        var tenant = await repository.GetAsync(tenantId, cancellationToken);
        if (tenant is null)
        {
            RememberUnknown(tenantId);
            return null;
        }

        var rates = new RateBook(await repository.LoadRatesAsync(tenantId, cancellationToken));
        var profile = new TenantProfile(tenant, rates);
        if (profiles.Count >= settings.MaxTenants && !profiles.ContainsKey(tenantId))
        {
            // A crude bound: drop an arbitrary tenant; it is loaded again on its next request.
            foreach (var key in profiles.Keys)
            {
                profiles.TryRemove(key, out _);
                break;
            }
        }

        // Two loads can race (a refresh and a first request); the higher rates revision wins.
        profile = profiles.AddOrUpdate(
            tenantId,
            profile,
            (_, existing) => existing.Tenant.RatesRevision > profile.Tenant.RatesRevision ? existing : profile);
        unknownUntilTicks.TryRemove(tenantId, out _);
        return profile;
    }

    private void RememberUnknown(string tenantId)
    {
        if (settings.UnknownTenantCacheSeconds == 0)
        {
            return;
        }

        if (unknownUntilTicks.Count >= settings.MaxUnknownTenants)
        {
            unknownUntilTicks.Clear();
        }

        unknownUntilTicks[tenantId] = timeProvider.GetUtcNow().AddSeconds(settings.UnknownTenantCacheSeconds).UtcTicks;
    }
}
