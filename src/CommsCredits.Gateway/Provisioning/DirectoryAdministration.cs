namespace CommsCredits.Gateway.Provisioning;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Tenants;
using Microsoft.Extensions.Options;
using static CommsCredits.Gateway.Charging.RequestValidator;

/// <summary>
/// The Directory service (directory.proto): users, toll-free numbers and minute pools of a tenant. Changes go to
/// PostgreSQL and reach every gateway's catalog through the change notification; pools are listed from the catalog,
/// with the sizes the charging path uses, once it holds the stored revision.
/// </summary>
public sealed class DirectoryAdministration(DirectoryRepository repository, TenantCatalog catalog, IOptions<DirectoryOptions> options)
{
    private readonly DirectoryOptions settings = options.Value;

    public async Task<User> PutUserAsync(PutUserRequest request, CancellationToken cancellationToken)
    {
        DirectoryValidator.PutUser(request);
        return (await repository.PutUserAsync(request, settings.MaxUsersPerTenant, cancellationToken)).Result;
    }

    public Task<User> GetUserAsync(GetUserRequest request, CancellationToken cancellationToken)
    {
        TenantId(request.TenantId);
        UserId(request.UserId);
        return repository.GetUserAsync(request.TenantId, request.UserId, cancellationToken);
    }

    public async Task<ListUsersResponse> ListUsersAsync(ListUsersRequest request, CancellationToken cancellationToken)
    {
        TenantId(request.TenantId);
        var pageSize = DirectoryValidator.PageSize(request.PageSize, settings);
        var after = ListPages.StartAfter(request.PageToken, DirectoryValidator.IsUserId);
        var candidates = await repository.ListUsersAsync(request.TenantId, after, pageSize + 1, cancellationToken);
        var response = new ListUsersResponse();
        response.NextPageToken = ListPages.Fill(candidates, pageSize, response.Users, user => user.UserId);
        return response;
    }

    public async Task<RemoveUserResponse> RemoveUserAsync(RemoveUserRequest request, CancellationToken cancellationToken)
    {
        TenantId(request.TenantId);
        UserId(request.UserId);
        var change = await repository.RemoveUserAsync(request.TenantId, request.UserId, cancellationToken);
        return new RemoveUserResponse { Removed = change.Result };
    }

    public async Task<TollFreeNumber> AssignTollFreeNumberAsync(AssignTollFreeNumberRequest request, CancellationToken cancellationToken)
    {
        TenantId(request.TenantId);
        Number(request.Number, "number");
        var change = await repository.AssignTollFreeNumberAsync(request.TenantId, request.Number, settings.MaxTollFreeNumbersPerTenant, cancellationToken);
        return change.Result;
    }

    public async Task<ReleaseTollFreeNumberResponse> ReleaseTollFreeNumberAsync(ReleaseTollFreeNumberRequest request, CancellationToken cancellationToken)
    {
        TenantId(request.TenantId);
        Number(request.Number, "number");
        var change = await repository.ReleaseTollFreeNumberAsync(request.TenantId, request.Number, cancellationToken);
        return new ReleaseTollFreeNumberResponse { Released = change.Result };
    }

    public async Task<ListTollFreeNumbersResponse> ListTollFreeNumbersAsync(ListTollFreeNumbersRequest request, CancellationToken cancellationToken)
    {
        TenantId(request.TenantId);
        var pageSize = DirectoryValidator.PageSize(request.PageSize, settings);
        var after = ListPages.StartAfter(request.PageToken, key => E164.IsValid(key));
        var candidates = await repository.ListTollFreeNumbersAsync(request.TenantId, after, pageSize + 1, cancellationToken);
        var response = new ListTollFreeNumbersResponse();
        response.NextPageToken = ListPages.Fill(candidates, pageSize, response.Numbers, number => number.Number);
        return response;
    }

    public async Task<MinutePool> PutMinutePoolAsync(PutMinutePoolRequest request, CancellationToken cancellationToken)
    {
        var definition = DirectoryValidator.PutMinutePool(request);
        var change = await repository.PutMinutePoolAsync(request.TenantId, definition, settings.MaxPoolsPerTenant, cancellationToken);
        var directory = await CurrentDirectoryAsync(request.TenantId, change.Revision, cancellationToken);
        var pool = directory.Pools.FirstOrDefault(pool => string.Equals(pool.PoolId, request.PoolId, StringComparison.Ordinal))
            ?? throw DirectoryErrors.PoolRemovedMeanwhile(request.PoolId);
        return PoolMessage(request.TenantId, pool);
    }

    public async Task<ListMinutePoolsResponse> ListMinutePoolsAsync(ListMinutePoolsRequest request, CancellationToken cancellationToken)
    {
        TenantId(request.TenantId);
        var pageSize = DirectoryValidator.PageSize(request.PageSize, settings);
        var after = ListPages.StartAfter(request.PageToken, IsTenantId);
        var revision = await repository.GetRevisionAsync(request.TenantId, cancellationToken) ?? throw DirectoryErrors.UnknownTenant(request.TenantId);
        var directory = await CurrentDirectoryAsync(request.TenantId, revision, cancellationToken);
        var candidates = directory.Pools
            .Where(pool => string.CompareOrdinal(pool.PoolId, after) > 0)
            .Take(pageSize + 1)
            .Select(pool => PoolMessage(request.TenantId, pool))
            .ToList();
        var response = new ListMinutePoolsResponse();
        response.NextPageToken = ListPages.Fill(candidates, pageSize, response.Pools, pool => pool.PoolId);
        return response;
    }

    public async Task<RemoveMinutePoolResponse> RemoveMinutePoolAsync(RemoveMinutePoolRequest request, CancellationToken cancellationToken)
    {
        TenantId(request.TenantId);
        TenantId(request.PoolId, "pool_id");
        var change = await repository.RemoveMinutePoolAsync(request.TenantId, request.PoolId, cancellationToken);
        return new RemoveMinutePoolResponse { Removed = change.Result };
    }

    private async Task<TenantDirectory> CurrentDirectoryAsync(string tenantId, long revision, CancellationToken cancellationToken)
    {
        var profile = await catalog.GetWithDirectoryAsync(tenantId, revision, cancellationToken) ?? throw DirectoryErrors.UnknownTenant(tenantId);
        return profile.Directory;
    }

    private static MinutePool PoolMessage(string tenantId, DirectoryPool pool)
    {
        var definition = pool.Definition;
        var message = new MinutePool
        {
            TenantId = tenantId,
            PoolId = definition.PoolId,
            DisplayName = definition.DisplayName,
            CallType = definition.CallType,
            Entitlement = definition.Entitlement,
            MinutesPerLicence = (uint)definition.MinutesPerLicence,
            LicensedUsers = (uint)pool.LicensedUsers,
            SizeMinutes = (long)definition.MinutesPerLicence * pool.LicensedUsers,
        };
        message.CoveredPrefixes.AddRange(definition.CoveredPrefixes);
        message.UserCountries.AddRange(definition.UserCountries);
        return message;
    }
}
