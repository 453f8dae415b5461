namespace CommsCredits.Gateway.Charging;

using System.Globalization;

/// <summary>
/// A short digest of what a request asks, stored with its answer. A request that reuses a (session, request number)
/// with a different fingerprint is not a retry: it is refused instead of being answered with another request's answer.
/// FNV-1a 64 over the method and the fields, with a separator that cannot appear in any field.
/// </summary>
public static class RequestFingerprint
{
    private const ulong OffsetBasis = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    public static string Of(string method, params ReadOnlySpan<string> fields)
    {
        var hash = Add(OffsetBasis, method);
        foreach (var field in fields)
        {
            hash = (hash ^ 0x1F) * Prime;
            hash = Add(hash, field);
        }

        return hash.ToString("x16", CultureInfo.InvariantCulture);
    }

    private static ulong Add(ulong hash, string text)
    {
        foreach (var character in text)
        {
            hash = (hash ^ (byte)character) * Prime;
            hash = (hash ^ (byte)(character >> 8)) * Prime;
        }

        return hash;
    }
}
