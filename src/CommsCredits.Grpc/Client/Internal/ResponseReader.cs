namespace CommsCredits.Grpc.Client.Internal;

using System.Net;
using System.Net.Http.Headers;
using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;

/// <summary>Reads the status and metadata of a gRPC response, in its normal or Trailers-Only form.</summary>
internal static class ResponseReader
{
    /// <summary>
    /// The status the response headers already decide: a non-gRPC answer (its HTTP status mapped per
    /// http-grpc-status-mapping.md), or a Trailers-Only response. Null when messages and trailers follow.
    /// </summary>
    public static Status? StatusFromHeaders(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var httpStatus = (int)response.StatusCode;
            return new Status(StatusForHttpStatus(httpStatus), string.Create(System.Globalization.CultureInfo.InvariantCulture, $"the server answered HTTP {httpStatus}, not gRPC"));
        }

        var contentType = FirstValue(response.Content.Headers, "Content-Type");
        if (!GrpcProtocol.LooksLikeGrpc(contentType))
        {
            return new Status(StatusCode.Internal, $"the server answered with content-type '{contentType}', not application/grpc");
        }

        return TryReadStatus(response.Headers);
    }

    /// <summary>The status in the trailers; a response without one is broken and gets INTERNAL.</summary>
    public static Status StatusFromTrailers(HttpResponseMessage response) =>
        TryReadStatus(response.TrailingHeaders)
        ?? new Status(StatusCode.Internal, "the server ended the response without a grpc-status");

    /// <summary>Custom metadata of a header block; throws INTERNAL for a "-bin" value that is not base64.</summary>
    public static Metadata ReadMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers.NonValidated)
        {
            foreach (var value in header.Value)
            {
                if (MetadataEncoding.TryAdd(metadata, header.Key, value) == MetadataEncoding.AddResult.InvalidBinary)
                {
                    GrpcErrors.Throw(StatusCode.Internal, $"response metadata '{header.Key}' is not valid base64");
                }
            }
        }

        return metadata;
    }

    public static string? FirstValue(HttpHeaders headers, string name)
    {
        if (!headers.NonValidated.TryGetValues(name, out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            return value;
        }

        return null;
    }

    private static Status? TryReadStatus(HttpHeaders headers)
    {
        var statusText = FirstValue(headers, GrpcProtocol.StatusHeader);
        if (statusText is null)
        {
            return null;
        }

        var message = FirstValue(headers, GrpcProtocol.MessageHeader);
        var detail = message is null ? string.Empty : PercentEncoding.Decode(message);
        return GrpcProtocol.ParseStatusCode(statusText) is { } code
            ? new Status(code, detail)
            : new Status(StatusCode.Unknown, $"invalid grpc-status '{statusText}': {detail}");
    }

    private static StatusCode StatusForHttpStatus(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };
}
