namespace CommsCredits.Grpc.Server.Internal;

using System.Diagnostics;
using CommsCredits.Grpc.Protocol;
using Microsoft.AspNetCore.Http;

/// <summary>Answers gRPC requests for paths that are not bound methods with UNIMPLEMENTED, as Trailers-Only.</summary>
internal sealed class UnimplementedMethodHandler(GrpcServerRuntime runtime)
{
    public Task HandleAsync(HttpContext httpContext)
    {
        var started = Stopwatch.GetTimestamp();
        if (GrpcRequestGate.TryAcceptProtocol(httpContext, runtime))
        {
            WriteUnimplemented(httpContext, runtime);
        }

        CallObservation.Report(httpContext, runtime, method: null, started);
        return Task.CompletedTask;
    }

    public static void WriteUnimplemented(HttpContext httpContext, GrpcServerRuntime runtime)
    {
        var path = httpContext.Request.Path.Value ?? string.Empty;
        var status = new Status(StatusCode.Unimplemented, Describe(path, runtime));
        GrpcServerLog.ProtocolError(runtime.Logger, path, status.Code, status.Detail);
        GrpcResponse.WriteTrailersOnly(httpContext.Response, status);
    }

    /// <summary>"unknown service X", or "unknown method Y of service X" when the service is one of ours.</summary>
    internal static string Describe(string path, GrpcServerRuntime runtime)
    {
        var name = path.AsSpan().TrimStart('/');
        var slash = name.IndexOf('/');
        if (slash < 0)
        {
            return $"unknown service {name}";
        }

        var service = name[..slash].ToString();
        var method = name[(slash + 1)..];
        return runtime.ServiceNames.Contains(service)
            ? $"unknown method {method} of service {service}"
            : $"unknown service {service}";
    }
}
