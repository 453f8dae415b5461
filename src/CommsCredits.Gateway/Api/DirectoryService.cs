namespace CommsCredits.Gateway.Api;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Provisioning;
using CommsCredits.Grpc.Server;

/// <summary>The commscredits.v1.Directory service.</summary>
public sealed class DirectoryService(DirectoryAdministration administration)
{
    public Task<User> PutUser(PutUserRequest request, ServerCallContext context) =>
        administration.PutUserAsync(request, context.CancellationToken);

    public Task<User> GetUser(GetUserRequest request, ServerCallContext context) =>
        administration.GetUserAsync(request, context.CancellationToken);

    public Task<ListUsersResponse> ListUsers(ListUsersRequest request, ServerCallContext context) =>
        administration.ListUsersAsync(request, context.CancellationToken);

    public Task<RemoveUserResponse> RemoveUser(RemoveUserRequest request, ServerCallContext context) =>
        administration.RemoveUserAsync(request, context.CancellationToken);

    public Task<TollFreeNumber> AssignTollFreeNumber(AssignTollFreeNumberRequest request, ServerCallContext context) =>
        administration.AssignTollFreeNumberAsync(request, context.CancellationToken);

    public Task<ReleaseTollFreeNumberResponse> ReleaseTollFreeNumber(ReleaseTollFreeNumberRequest request, ServerCallContext context) =>
        administration.ReleaseTollFreeNumberAsync(request, context.CancellationToken);

    public Task<ListTollFreeNumbersResponse> ListTollFreeNumbers(ListTollFreeNumbersRequest request, ServerCallContext context) =>
        administration.ListTollFreeNumbersAsync(request, context.CancellationToken);

    public Task<MinutePool> PutMinutePool(PutMinutePoolRequest request, ServerCallContext context) =>
        administration.PutMinutePoolAsync(request, context.CancellationToken);

    public Task<ListMinutePoolsResponse> ListMinutePools(ListMinutePoolsRequest request, ServerCallContext context) =>
        administration.ListMinutePoolsAsync(request, context.CancellationToken);

    public Task<RemoveMinutePoolResponse> RemoveMinutePool(RemoveMinutePoolRequest request, ServerCallContext context) =>
        administration.RemoveMinutePoolAsync(request, context.CancellationToken);
}
