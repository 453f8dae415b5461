namespace CommsCredits.Gateway.Provisioning;

using CommsCredits.Grpc.Protocol;

/// <summary>The refusals of the Directory service (directory.proto) other than INVALID_ARGUMENT.</summary>
public static class DirectoryErrors
{
    public static RpcException UnknownTenant(string tenantId) => new(new Status(StatusCode.NotFound, $"tenant '{tenantId}' does not exist"));

    public static RpcException UnknownUser(string tenantId, string userId) =>
        new(new Status(StatusCode.NotFound, $"tenant '{tenantId}' has no user '{userId}'"));

    public static RpcException UpnTaken(string upn, string otherUserId) =>
        new(new Status(StatusCode.AlreadyExists, $"upn '{upn}' belongs to another user of the tenant ('{otherUserId}'), whatever its letter case"));

    /// <summary>The owner is not named: one tenant's administrator has no business knowing another tenant's numbers.</summary>
    public static RpcException NumberOwnedElsewhere(string number) =>
        new(new Status(StatusCode.AlreadyExists, $"number '{number}' is owned by another tenant"));

    public static RpcException LimitReached(string tenantId, long count, string what, string setting) =>
        new(new Status(StatusCode.ResourceExhausted, $"tenant '{tenantId}' has {count} {what}, the most {setting} allows"));

    public static RpcException PoolRemovedMeanwhile(string poolId) =>
        new(new Status(StatusCode.Aborted, $"pool '{poolId}' was removed by another request while this one stored it; read it again"));
}
