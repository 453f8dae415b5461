namespace CommsCredits.Gateway.Metrics;

using System.Collections.Concurrent;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;

/// <summary>
/// Counts and times every gRPC request (commscredits_grpc_requests_total, commscredits_grpc_request_duration_seconds),
/// told by the transport at each request's end. The children of a method are looked up once and kept; the transport
/// names only bound methods, so their number is that of our RPCs, and every other path is "unknown".
/// </summary>
public sealed class RpcMetricsObserver(GatewayMetrics metrics) : IRpcCallObserver
{
    public const string UnknownMethod = "unknown";

    /// <summary>gRPC status names as doc/statuscodes.md spells them, by wire value.</summary>
    private static readonly string[] StatusNames =
    [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ];

    private readonly ConcurrentDictionary<string, MethodChildren> methods = new(StringComparer.Ordinal);

    public static string StatusName(StatusCode status) => (uint)status < (uint)StatusNames.Length ? StatusNames[(int)status] : "UNKNOWN";

    public void CallEnded(string? method, StatusCode status, TimeSpan elapsed)
    {
        var children = methods.TryGetValue(method ?? UnknownMethod, out var found) ? found : Add(method ?? UnknownMethod);
        var code = (uint)status < (uint)StatusNames.Length ? (int)status : (int)StatusCode.Unknown;
        var counter = children.ByStatus[code] ??= metrics.GrpcRequests.WithLabels(children.Method, StatusNames[code]);
        counter.Increment();
        children.Duration.Observe(elapsed.TotalSeconds);
    }

    private MethodChildren Add(string method) =>
        methods.GetOrAdd(method, static (name, family) => new MethodChildren(name, family.WithLabels(name)), metrics.GrpcRequestDuration);

    private sealed class MethodChildren(string method, Histogram duration)
    {
        public string Method { get; } = method;

        public Histogram Duration { get; } = duration;

        /// <summary>Filled on first use of each status; a race only looks the same child up twice.</summary>
        public Counter?[] ByStatus { get; } = new Counter?[StatusNames.Length];
    }
}
