namespace CommsCredits.Gateway.Tenants;

using System.Collections.Concurrent;
using CommsCredits.Gateway.Provisioning;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.Options;

/// <summary>
/// Tenants with their rate tables and directories, held in memory so that a charging request never waits for
/// PostgreSQL. A tenant is loaded on first use, and reloaded when a rate import or a directory change raises one of its
/// revisions (a notification, or the periodic check of <see cref="TenantCatalogRefresher"/>).
/// </summary>
public sealed class TenantCatalog(
    TenantRepository repository,
    DirectoryRepository directories,
    IOptions<TenantCatalogOptions> options,
    TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, TenantProfile> profiles = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> unknownUntilTicks = new(StringComparer.Ordinal);
    private readonly SingleFlight<TenantProfile?> loading = new();
    private readonly FreshFlight<TenantProfile?> refreshing = new();
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

    /// <summary>
    /// The tenant's profile with a directory at least as new as <paramref name="directoryRevision"/> (reloaded when the
    /// cached one is older), or null when no such tenant exists. Lets the admin API read its own writes.
    /// </summary>
    public async ValueTask<TenantProfile?> GetWithDirectoryAsync(string tenantId, long directoryRevision, CancellationToken cancellationToken)
    {
        var profile = await GetAsync(tenantId, cancellationToken);
        if (profile is not null && profile.Directory.Revision >= directoryRevision)
        {
            return profile;
        }

        // Older, or remembered as unknown from before the tenant was created: the caller has just seen it stored.
        return await refreshing.RunAsync(tenantId, ReloadAsync).WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Reloads a tenant (after an import here, or a notification from another gateway) with a load that starts after
    /// this call; concurrent refreshes of a tenant share loads (see <see cref="FreshFlight{TResult}"/>).
    /// </summary>
    public Task RefreshAsync(string tenantId, CancellationToken cancellationToken) =>
        refreshing.RunAsync(tenantId, ReloadAsync).WaitAsync(cancellationToken);

    /// <summary>The ids of the tenants held in memory.</summary>
    public string[] CachedTenantIds() => [.. profiles.Keys];

    /// <summary>The revisions held in memory for a tenant, or null.</summary>
    public TenantRevisions? CachedRevisions(string tenantId) =>
        profiles.TryGetValue(tenantId, out var profile) ? profile.Revisions : null;

    private Task<TenantProfile?> LoadOnceAsync(string tenantId) => loading.RunAsync(tenantId, LoadWithTimeoutAsync);

    private async Task<TenantProfile?> ReloadAsync(string tenantId)
    {
        var profile = await LoadWithTimeoutAsync(tenantId);
        if (profile is null)
        {
            profiles.TryRemove(tenantId, out _);
        }

        return profile;
    }

    private async Task<TenantProfile?> LoadWithTimeoutAsync(string tenantId)
    {
        using var timeout = new CancellationTokenSource(LoadTimeout);
        return await LoadAsync(tenantId, timeout.Token);
    }

    private async Task<TenantProfile?> LoadAsync(string tenantId, CancellationToken cancellationToken)
    {
        // Each revision is read before what it covers: the directory (whose revision also covers the tenant's settings:
        // auto-recharge trigger, low-balance levels, funding expiry) before the tenant row, and the rates revision, in
        // the tenant row, before the rates. A change that commits in between is then in the profile, or its revision
        // is not, and the notification's reload replaces this profile.
        var directory = await directories.LoadAsync(tenantId, cancellationToken);
        var tenant = directory is null ? null : await repository.GetAsync(tenantId, cancellationToken);
        if (directory is null || tenant is null)
        {
            RememberUnknown(tenantId);
            return null;
        }

        var rates = new RateBook(await repository.LoadRatesAsync(tenantId, cancellationToken));

        var profile = new TenantProfile(tenant, rates, directory);
        if (profiles.Count >= settings.MaxTenants && !profiles.ContainsKey(tenantId))
        {
            // A crude bound: drop an arbitrary tenant; it is loaded again on its next request.
            foreach (var key in profiles.Keys)
            {
                profiles.TryRemove(key, out _);
                break;
            }
        }

        // Two loads can race (a refresh and a first request); the later one wins.
        profile = profiles.AddOrUpdate(tenantId, profile, (_, existing) => existing.IsNewerThan(profile) ? existing : profile);
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
