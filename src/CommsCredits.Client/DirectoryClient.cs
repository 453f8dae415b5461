namespace CommsCredits.Client;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>
/// A client of the commscredits.v1.Directory service. Thread-safe; share one per channel. Every call carries the API
/// key (an admin key) as "authorization: Bearer &lt;key&gt;".
/// </summary>
public sealed class DirectoryClient(GrpcChannel channel, string apiKey)
{
    private const string Service = "/commscredits.v1.Directory/";

    private readonly ApiKeyHeaders key = new(apiKey);

    public Task<User> PutUserAsync(PutUserRequest request, CallOptions options = default) =>
        channel.UnaryAsync<PutUserRequest, User>(Service + "PutUser", request, key.Apply(options));

    public Task<User> GetUserAsync(GetUserRequest request, CallOptions options = default) =>
        channel.UnaryAsync<GetUserRequest, User>(Service + "GetUser", request, key.Apply(options));

    public Task<ListUsersResponse> ListUsersAsync(ListUsersRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ListUsersRequest, ListUsersResponse>(Service + "ListUsers", request, key.Apply(options));

    public Task<RemoveUserResponse> RemoveUserAsync(RemoveUserRequest request, CallOptions options = default) =>
        channel.UnaryAsync<RemoveUserRequest, RemoveUserResponse>(Service + "RemoveUser", request, key.Apply(options));

    public Task<TollFreeNumber> AssignTollFreeNumberAsync(AssignTollFreeNumberRequest request, CallOptions options = default) =>
        channel.UnaryAsync<AssignTollFreeNumberRequest, TollFreeNumber>(Service + "AssignTollFreeNumber", request, key.Apply(options));

    public Task<ReleaseTollFreeNumberResponse> ReleaseTollFreeNumberAsync(ReleaseTollFreeNumberRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ReleaseTollFreeNumberRequest, ReleaseTollFreeNumberResponse>(Service + "ReleaseTollFreeNumber", request, key.Apply(options));

    public Task<ListTollFreeNumbersResponse> ListTollFreeNumbersAsync(ListTollFreeNumbersRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ListTollFreeNumbersRequest, ListTollFreeNumbersResponse>(Service + "ListTollFreeNumbers", request, key.Apply(options));

    public Task<MinutePool> PutMinutePoolAsync(PutMinutePoolRequest request, CallOptions options = default) =>
        channel.UnaryAsync<PutMinutePoolRequest, MinutePool>(Service + "PutMinutePool", request, key.Apply(options));

    public Task<ListMinutePoolsResponse> ListMinutePoolsAsync(ListMinutePoolsRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ListMinutePoolsRequest, ListMinutePoolsResponse>(Service + "ListMinutePools", request, key.Apply(options));

    public Task<RemoveMinutePoolResponse> RemoveMinutePoolAsync(RemoveMinutePoolRequest request, CallOptions options = default) =>
        channel.UnaryAsync<RemoveMinutePoolRequest, RemoveMinutePoolResponse>(Service + "RemoveMinutePool", request, key.Apply(options));
}
