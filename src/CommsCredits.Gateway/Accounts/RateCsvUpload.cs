namespace CommsCredits.Gateway.Accounts;

using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Rating;
using CommsCredits.Grpc.Protocol;

/// <summary>
/// The request stream of one ImportRateCsv call (accounts.proto, RateCsvChunk): checks each chunk as it arrives
/// and feeds its bytes to a <see cref="RateCsvReader"/>, so a bad line, a wrong chunk or a file over the size
/// limit ends the call at once, before the rest is sent. What it holds is bounded by the reader's limits.
/// </summary>
public sealed class RateCsvUpload
{
    /// <summary>The largest chunk (accounts.proto); the transport's Grpc:MaxReceiveMessageSizeBytes bounds it too.</summary>
    public const int MaxChunkBytes = 1_024 * 1_024;

    private readonly long maxFileBytes;

    public RateCsvUpload(long maxFileBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFileBytes, 1);
        this.maxFileBytes = maxFileBytes;
    }

    /// <summary>The file's rows, once <see cref="ReadAsync"/> has returned.</summary>
    public RateCsvReader Reader { get; } = new();

    /// <summary>
    /// Reads every chunk and ends the file; returns the tenant, which <paramref name="requireTenant"/> (NOT_FOUND)
    /// checked on the first chunk. A refusal is an <see cref="RpcException"/>: INVALID_ARGUMENT naming the field,
    /// or the file's line, or RESOURCE_EXHAUSTED naming Accounts:MaxRateCsvBytes.
    /// </summary>
    public async Task<string> ReadAsync(
        IAsyncEnumerable<RateCsvChunk> chunks,
        Func<string, CancellationToken, Task> requireTenant,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(requireTenant);
        string? tenantId = null;
        long fileBytes = 0;
        long chunkNumber = 0;

        // Bounded: every chunk after the first carries at least one byte, and the bytes are bounded by maxFileBytes.
        await foreach (var chunk in chunks.WithCancellation(cancellationToken))
        {
            chunkNumber++;
            if (tenantId is null)
            {
                RequestValidator.TenantId(chunk.TenantId);
                await requireTenant(chunk.TenantId, cancellationToken);
                tenantId = chunk.TenantId;
            }

            fileBytes += CheckChunk(chunk, chunkNumber, tenantId, fileBytes);
            if (Reader.Append(chunk.Data.Span) is { } error)
            {
                throw RequestValidator.Invalid(error.Message);
            }
        }

        if (tenantId is null)
        {
            throw RequestValidator.Invalid("the request stream held no chunk: the first chunk carries tenant_id and the file's first bytes");
        }

        if (Reader.Complete() is { } endError)
        {
            throw RequestValidator.Invalid(endError.Message);
        }

        return tenantId;
    }

    /// <summary>The chunk's size, once it is known to follow the rules of accounts.proto.</summary>
    private long CheckChunk(RateCsvChunk chunk, long chunkNumber, string tenantId, long fileBytesBefore)
    {
        if (chunk.TenantId.Length > 0 && !string.Equals(chunk.TenantId, tenantId, StringComparison.Ordinal))
        {
            throw RequestValidator.Invalid(string.Create(
                CultureInfo.InvariantCulture,
                $"tenant_id of chunk {chunkNumber} differs from the first chunk's '{tenantId}': leave it empty after the first chunk"));
        }

        var size = chunk.Data.Length;
        if (size > MaxChunkBytes)
        {
            throw RequestValidator.Invalid(string.Create(
                CultureInfo.InvariantCulture, $"data of chunk {chunkNumber} holds {size} bytes; a chunk holds at most {MaxChunkBytes}"));
        }

        if (size == 0 && chunkNumber > 1)
        {
            throw RequestValidator.Invalid(string.Create(
                CultureInfo.InvariantCulture, $"data of chunk {chunkNumber} is empty: only the first chunk may be"));
        }

        if (fileBytesBefore + size > maxFileBytes)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, string.Create(
                CultureInfo.InvariantCulture,
                $"the rate file is larger than Accounts:MaxRateCsvBytes ({maxFileBytes} bytes); nothing was stored")));
        }

        return size;
    }
}
