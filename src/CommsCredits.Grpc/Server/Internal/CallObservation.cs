namespace CommsCredits.Grpc.Server.Internal;

using System.Diagnostics;
using System.Globalization;
using CommsCredits.Grpc.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

/// <summary>Tells the registered <see cref="IRpcCallObserver"/>s how a request ended: the status it was sent, and how long it took.</summary>
internal static class CallObservation
{
    /// <summary>Runs <paramref name="handling"/> (the whole request) and reports its end to every observer.</summary>
    public static async Task ObserveAsync(Task handling, HttpContext httpContext, GrpcServerRuntime runtime, string? method, long startedTimestamp)
    {
        try
        {
            await handling.ConfigureAwait(false);
        }
        finally
        {
            Report(httpContext, runtime, method, startedTimestamp);
        }
    }

    public static void Report(HttpContext httpContext, GrpcServerRuntime runtime, string? method, long startedTimestamp)
    {
        var elapsed = Stopwatch.GetElapsedTime(startedTimestamp);
        var status = WrittenStatus(httpContext);
        var observers = runtime.CallObservers;
        for (var index = 0; index < observers.Count; index++)
        {
            observers[index].CallEnded(method, status, elapsed);
        }
    }

    /// <summary>
    /// The grpc-status the response carries: in the trailers after a response was started, else in the headers
    /// (Trailers-Only). None was written when the client went away (CANCELLED) or the request was refused with an
    /// HTTP status (UNKNOWN, as a gRPC client maps 415 or 505).
    /// </summary>
    private static StatusCode WrittenStatus(HttpContext httpContext)
    {
        var trailers = httpContext.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        var text = trailers is null ? default : trailers.GrpcStatus;
        if (text.Count == 0)
        {
            text = httpContext.Response.Headers.GrpcStatus;
        }

        if (text.Count > 0 && int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 0 and <= (int)StatusCode.Unauthenticated)
        {
            return (StatusCode)code;
        }

        return httpContext.Response.StatusCode == StatusCodes.Status200OK ? StatusCode.Cancelled : StatusCode.Unknown;
    }
}
