namespace CommsCredits.Client;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;

/// <summary>
/// A client of the commscredits.v1.Accounts service. Thread-safe; share one per channel. Every call carries the API key
/// (an admin key) as "authorization: Bearer &lt;key&gt;".
/// </summary>
public sealed class AccountsClient(GrpcChannel channel, string apiKey)
{
    /// <summary>The chunk size of <see cref="ImportRateCsvAsync"/> unless told otherwise.</summary>
    public const int DefaultRateCsvChunkBytes = 256 * 1_024;

    /// <summary>The largest chunk the server accepts (accounts.proto, RateCsvChunk).</summary>
    public const int MaxRateCsvChunkBytes = 1_024 * 1_024;

    private const string Service = "/commscredits.v1.Accounts/";

    private readonly ApiKeyHeaders key = new(apiKey);

    public Task<Tenant> CreateTenantAsync(CreateTenantRequest request, CallOptions options = default) =>
        channel.UnaryAsync<CreateTenantRequest, Tenant>(Service + "CreateTenant", request, key.Apply(options));

    public Task<AddFundsResponse> AddFundsAsync(AddFundsRequest request, CallOptions options = default) =>
        channel.UnaryAsync<AddFundsRequest, AddFundsResponse>(Service + "AddFunds", request, key.Apply(options));

    public Task<Tenant> UpdateTenantAsync(UpdateTenantRequest request, CallOptions options = default) =>
        channel.UnaryAsync<UpdateTenantRequest, Tenant>(Service + "UpdateTenant", request, key.Apply(options));

    public Task<AccountBalance> GetBalanceAsync(GetBalanceRequest request, CallOptions options = default) =>
        channel.UnaryAsync<GetBalanceRequest, AccountBalance>(Service + "GetBalance", request, key.Apply(options));

    public Task<ListLedgerEntriesResponse> ListLedgerEntriesAsync(ListLedgerEntriesRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ListLedgerEntriesRequest, ListLedgerEntriesResponse>(Service + "ListLedgerEntries", request, key.Apply(options));

    public Task<AutoRecharge> SetAutoRechargeAsync(SetAutoRechargeRequest request, CallOptions options = default) =>
        channel.UnaryAsync<SetAutoRechargeRequest, AutoRecharge>(Service + "SetAutoRecharge", request, key.Apply(options));

    public Task<AutoRecharge> GetAutoRechargeAsync(GetAutoRechargeRequest request, CallOptions options = default) =>
        channel.UnaryAsync<GetAutoRechargeRequest, AutoRecharge>(Service + "GetAutoRecharge", request, key.Apply(options));

    public Task<ImportRatesResponse> ImportRatesAsync(ImportRatesRequest request, CallOptions options = default) =>
        channel.UnaryAsync<ImportRatesRequest, ImportRatesResponse>(Service + "ImportRates", request, key.Apply(options));

    /// <summary>
    /// Uploads a rate file (accounts.proto, RateCsvChunk) from <paramref name="csv"/>, read to its end, in chunks of
    /// <paramref name="chunkBytes"/> (1 byte to 1 MiB). <paramref name="bytesSent"/> hears the bytes sent so far
    /// after each chunk. A refused file throws <see cref="RpcException"/> as soon as the server refuses it, with the
    /// line in its message; nothing of it is stored.
    /// </summary>
    public async Task<ImportRatesResponse> ImportRateCsvAsync(
        string tenantId,
        Stream csv,
        IProgress<long>? bytesSent = null,
        CallOptions options = default,
        int chunkBytes = DefaultRateCsvChunkBytes)
    {
        ArgumentNullException.ThrowIfNull(tenantId);
        ArgumentNullException.ThrowIfNull(csv);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkBytes, MaxRateCsvChunkBytes);
        using var call = channel.ClientStreaming<RateCsvChunk, ImportRatesResponse>(Service + "ImportRateCsv", key.Apply(options));
        var buffer = new byte[chunkBytes];
        long sent = 0;
        var first = true;
        while (true)
        {
            var read = await csv.ReadAtLeastAsync(buffer, chunkBytes, throwOnEndOfStream: false, options.CancellationToken).ConfigureAwait(false);
            if (read == 0 && !first)
            {
                break;
            }

            // WriteAsync has serialized the chunk when it returns, so the buffer can be refilled without a copy.
            var chunk = new RateCsvChunk { TenantId = first ? tenantId : string.Empty, Data = UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(0, read)) };
            await call.WriteAsync(chunk).ConfigureAwait(false);
            sent += read;
            bytesSent?.Report(sent);
            first = false;
            if (read < chunkBytes)
            {
                break;
            }
        }

        await call.CompleteAsync().ConfigureAwait(false);
        return await call.ResponseAsync.ConfigureAwait(false);
    }
}
