namespace CommsCredits.Grpc.Server.Internal;

using CommsCredits.Grpc.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

/// <summary>
/// Lets the catch-all UNIMPLEMENTED route match only requests that look like gRPC, so that it never captures
/// the gateway's other HTTP endpoints or its 404s.
/// </summary>
internal sealed class GrpcContentTypeConstraint : IRouteConstraint
{
    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) =>
        routeDirection == RouteDirection.IncomingRequest
        && httpContext is not null
        && GrpcProtocol.LooksLikeGrpc(httpContext.Request.ContentType);
}
