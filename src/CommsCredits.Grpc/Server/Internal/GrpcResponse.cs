namespace CommsCredits.Grpc.Server.Internal;

using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

/// <summary>Writes the header blocks of a gRPC response: Response-Headers, Trailers and Trailers-Only.</summary>
internal static class GrpcResponse
{
    /// <summary>The fields every Response-Headers block and Trailers-Only block starts with.</summary>
    public static void WriteStartHeaders(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        var headers = response.Headers;
        headers.ContentType = GrpcProtocol.ContentType;
        headers.GrpcAcceptEncoding = GrpcProtocol.SupportedEncodings;
    }

    /// <summary>
    /// An immediate error before anything was sent: the status goes in the response headers and, with no body
    /// and no trailers, Kestrel sends one HEADERS frame with END_STREAM, which is the Trailers-Only form.
    /// </summary>
    public static void WriteTrailersOnly(HttpResponse response, in Status status)
    {
        WriteStartHeaders(response);
        WriteStatus(response.Headers, status);
    }

    public static void WriteStatus(IHeaderDictionary target, in Status status)
    {
        target.GrpcStatus = GrpcProtocol.FormatStatusCode(status.Code);
        if (!string.IsNullOrEmpty(status.Detail))
        {
            target.GrpcMessage = PercentEncoding.Encode(status.Detail);
        }
    }

    /// <summary>
    /// Appends application metadata; reserved or invalid keys are left out (and logged), since a handler must
    /// not be able to forge grpc-status or break the header block.
    /// </summary>
    public static void WriteMetadata(IHeaderDictionary target, Metadata? metadata, ILogger logger, string method)
    {
        if (metadata is null)
        {
            return;
        }

        for (var index = 0; index < metadata.Count; index++)
        {
            var entry = metadata[index];
            if (GrpcProtocol.IsReservedHeader(entry.Key))
            {
                GrpcServerLog.ResponseMetadataIgnored(logger, method, entry.Key);
                continue;
            }

            target.Append(entry.Key, entry.Value);
        }
    }

    public static void RefuseHttp(HttpContext httpContext, int httpStatus, string reason, ILogger logger)
    {
        GrpcServerLog.RequestRefused(logger, httpContext.Request.Path.Value ?? string.Empty, httpStatus, reason);
        httpContext.Response.StatusCode = httpStatus;
    }
}
