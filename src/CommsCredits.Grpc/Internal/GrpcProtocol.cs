namespace CommsCredits.Grpc.Internal;

using System.Collections.Frozen;
using CommsCredits.Grpc.Protocol;

/// <summary>Names and values of the gRPC wire protocol (PROTOCOL-HTTP2.md) shared by the server and the client.</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string ContentTypePrefix = "application/grpc";
    public const string ContentTypeProto = "application/grpc+proto";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string TeHeader = "te";
    public const string TeTrailers = "trailers";
    public const string IdentityEncoding = "identity";
    public const string GzipEncoding = "gzip";

    /// <summary>What we can decompress, advertised in every response (compression.md asks for it on UNIMPLEMENTED).</summary>
    public const string SupportedEncodings = "identity,gzip";

    /// <summary>
    /// Headers that belong to the protocol, not to the application: never exposed as metadata and never sent from
    /// application metadata. Compared ignoring case because Kestrel reports known headers in their canonical casing.
    /// </summary>
    private static readonly FrozenSet<string> ReservedHeaders = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "content-type",
        "content-length",
        "content-encoding",
        "accept-encoding",
        "te",
        "host",
        "connection",
        "transfer-encoding",
        StatusHeader,
        MessageHeader,
        TimeoutHeader,
        EncodingHeader,
        AcceptEncodingHeader,
        "grpc-message-type");

    /// <summary>Status codes as the decimal strings sent in grpc-status, made once.</summary>
    private static readonly string[] StatusCodeTexts = CreateStatusCodeTexts();

    public static bool IsReservedHeader(string name) => name.StartsWith(':') || ReservedHeaders.Contains(name);

    /// <summary>
    /// True for the content types we serve: "application/grpc" and "application/grpc+proto", with or without
    /// parameters. Other subtypes such as "+json" are gRPC but not ours.
    /// </summary>
    public static bool IsSupportedContentType(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }

        var mediaType = contentType.AsSpan();
        var parameters = mediaType.IndexOf(';');
        if (parameters >= 0)
        {
            mediaType = mediaType[..parameters];
        }

        mediaType = mediaType.Trim(' ');
        return mediaType.Equals(ContentType, StringComparison.OrdinalIgnoreCase)
            || mediaType.Equals(ContentTypeProto, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True when a request claims to be gRPC at all (any "application/grpc..." content type).</summary>
    public static bool LooksLikeGrpc(string? contentType) =>
        contentType is not null && contentType.StartsWith(ContentTypePrefix, StringComparison.OrdinalIgnoreCase);

    public static string FormatStatusCode(StatusCode code)
    {
        var value = (int)code;
        return (uint)value < (uint)StatusCodeTexts.Length
            ? StatusCodeTexts[value]
            : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Parses grpc-status: a decimal integer without sign; null when the value is not one.</summary>
    public static StatusCode? ParseStatusCode(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 9)
        {
            return null;
        }

        var value = 0;
        foreach (var character in text)
        {
            if (character is < '0' or > '9')
            {
                return null;
            }

            value = (value * 10) + (character - '0');
        }

        return (StatusCode)value;
    }

    private static string[] CreateStatusCodeTexts()
    {
        var texts = new string[(int)StatusCode.Unauthenticated + 1];
        for (var code = 0; code < texts.Length; code++)
        {
            texts[code] = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return texts;
    }
}
