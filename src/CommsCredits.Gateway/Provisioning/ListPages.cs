namespace CommsCredits.Gateway.Provisioning;

using System.Buffers.Text;
using System.Text;
using CommsCredits.Gateway.Charging;
using Google.Protobuf;
using Google.Protobuf.Collections;

/// <summary>
/// Keyset paging for the Directory lists: a page token is the last key of the previous page (base64url), and the next
/// page starts after it, so every item present for the whole listing is returned once whatever changes meanwhile.
/// </summary>
public static class ListPages
{
    /// <summary>A page ends before it passes this many bytes, well inside the default gRPC message limit (4 MiB).</summary>
    public const int MaxPageBytes = 1 << 20;

    // Room for a repeated field's tag and length prefix around each item.
    private const int ItemOverheadBytes = 6;

    /// <summary>The key a page starts after: empty for the first page.</summary>
    public static string StartAfter(string pageToken, Func<string, bool> isKey)
    {
        if (pageToken.Length == 0)
        {
            return string.Empty;
        }

        if (pageToken.Length > 1_024 || !Base64Url.IsValid(pageToken))
        {
            throw NotAToken();
        }

        string key;
        try
        {
            key = new UTF8Encoding(false, true).GetString(Base64Url.DecodeFromChars(pageToken));
        }
        catch (DecoderFallbackException)
        {
            throw NotAToken();
        }

        return isKey(key) ? key : throw NotAToken();
    }

    /// <summary>
    /// Moves candidates into <paramref name="page"/>: at most <paramref name="pageSize"/>, fewer when the next would
    /// take the page past <see cref="MaxPageBytes"/> (never none). Pass up to pageSize + 1 candidates, in key order:
    /// the answer is the next page token, empty when the candidates are exhausted.
    /// </summary>
    public static string Fill<T>(IReadOnlyList<T> candidates, int pageSize, RepeatedField<T> page, Func<T, string> key)
        where T : IMessage
    {
        var bytes = 0;
        foreach (var candidate in candidates)
        {
            var size = candidate.CalculateSize() + ItemOverheadBytes;
            if (page.Count == pageSize || (page.Count > 0 && bytes + size > MaxPageBytes))
            {
                break;
            }

            page.Add(candidate);
            bytes += size;
        }

        return page.Count < candidates.Count ? Base64Url.EncodeToString(Encoding.UTF8.GetBytes(key(page[^1]))) : string.Empty;
    }

    private static Grpc.Protocol.RpcException NotAToken() =>
        RequestValidator.Invalid("page_token must be empty or the next_page_token of a previous answer of this list");
}
