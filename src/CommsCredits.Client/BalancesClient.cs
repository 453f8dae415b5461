namespace CommsCredits.Client;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>
/// A client of the commscredits.v1.Balances service. Thread-safe; share one per channel. Every call carries the API
/// key (an admin key) as "authorization: Bearer &lt;key&gt;". Dispose the streaming call it returns.
/// </summary>
public sealed class BalancesClient(GrpcChannel channel, string apiKey)
{
    private const string Service = "/commscredits.v1.Balances/";

    private readonly ApiKeyHeaders key = new(apiKey);

    public ServerStreamingCall<BalanceChange> Watch(WatchBalanceRequest request, CallOptions options = default) =>
        channel.ServerStreaming<WatchBalanceRequest, BalanceChange>(Service + "Watch", request, key.Apply(options));
}
