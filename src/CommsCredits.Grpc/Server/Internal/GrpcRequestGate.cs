namespace CommsCredits.Grpc.Server.Internal;

using CommsCredits.Grpc.Internal;
using Microsoft.AspNetCore.Http;

/// <summary>The HTTP-level checks a request passes before it is treated as a gRPC call.</summary>
internal static class GrpcRequestGate
{
    /// <summary>
    /// HTTP/2, a content type we serve, and the method's exact path (gRPC paths are case-sensitive, ASP.NET
    /// routing is not). False when a response was already written.
    /// </summary>
    public static bool TryAccept(HttpContext httpContext, GrpcServerRuntime runtime, string expectedPath)
    {
        if (!TryAcceptProtocol(httpContext, runtime))
        {
            return false;
        }

        var request = httpContext.Request;
        if (!GrpcProtocol.IsSupportedContentType(request.ContentType))
        {
            // PROTOCOL-HTTP2.md: 415 rather than a gRPC status, so that no HTTP client mistakes the answer for success.
            GrpcResponse.RefuseHttp(httpContext, StatusCodes.Status415UnsupportedMediaType, $"content-type '{request.ContentType}' is not application/grpc", runtime.Logger);
            return false;
        }

        if (!string.Equals(request.Path.Value, expectedPath, StringComparison.Ordinal))
        {
            UnimplementedMethodHandler.WriteUnimplemented(httpContext, runtime);
            return false;
        }

        return true;
    }

    /// <summary>
    /// gRPC needs HTTP/2 (trailers, full duplex). Other versions get 505: a gRPC status cannot be expressed on
    /// them, and 426 would promise an upgrade Kestrel does not offer.
    /// </summary>
    public static bool TryAcceptProtocol(HttpContext httpContext, GrpcServerRuntime runtime)
    {
        if (HttpProtocol.IsHttp2(httpContext.Request.Protocol))
        {
            return true;
        }

        GrpcResponse.RefuseHttp(httpContext, StatusCodes.Status505HttpVersionNotsupported, "gRPC needs HTTP/2", runtime.Logger);
        return false;
    }
}
