namespace CommsCredits.Client;

using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;

/// <summary>
/// Puts a client's API key on every call, as "authorization: Bearer &lt;key&gt;". The metadata is built once and shared
/// by the calls that bring none of their own; the channel only reads it.
/// </summary>
internal sealed class ApiKeyHeaders
{
    public const string HeaderName = "authorization";

    private readonly Metadata keyOnly;
    private readonly string headerValue;

    public ApiKeyHeaders(string apiKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(apiKey);
        if (apiKey.Any(character => character is <= ' ' or > '~'))
        {
            // Not echoed: it is a secret.
            throw new ArgumentException("the API key must be printable ASCII without spaces", nameof(apiKey));
        }

        headerValue = "Bearer " + apiKey;
        keyOnly = new Metadata().Add(HeaderName, headerValue);
    }

    /// <summary>The call's options with the key added to its metadata.</summary>
    public CallOptions Apply(CallOptions options)
    {
        if (options.Headers is not { Count: > 0 } headers)
        {
            return options with { Headers = keyOnly };
        }

        var merged = new Metadata();
        foreach (var entry in headers)
        {
            if (string.Equals(entry.Key, HeaderName, StringComparison.Ordinal))
            {
                throw new ArgumentException("the client sends its API key itself: leave 'authorization' out of the call's metadata", nameof(options));
            }

            _ = entry.IsBinary ? merged.Add(entry.Key, entry.ValueBytes) : merged.Add(entry.Key, entry.Value);
        }

        return options with { Headers = merged.Add(HeaderName, headerValue) };
    }
}
