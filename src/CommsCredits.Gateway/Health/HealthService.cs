namespace CommsCredits.Gateway.Health;

using CommsCredits.Gateway.Charging;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using global::Grpc.Health.V1;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ServingStatus = global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

/// <summary>
/// grpc.health.v1.Health: the server as a whole under the empty name, and each service it serves under its full name,
/// all with one status, SERVING while Redis and PostgreSQL are reachable and the gateway is not stopping
/// (<see cref="StorageHealth"/>). Check answers NOT_FOUND for a name the server does not serve; Watch sends the status
/// now, then each change, and SERVICE_UNKNOWN for such a name (it may be served later, by the protocol; never here).
/// When the host starts stopping, Watch sends NOT_SERVING and ends: an open Watch must not hold up the drain.
/// </summary>
public sealed class HealthService(StorageHealth health, ServedServices served, IOptions<HealthOptions> options, IHostApplicationLifetime lifetime)
{
    private readonly HashSet<string> known = [string.Empty, .. served.Descriptors.Select(service => service.FullName)];
    private readonly int maxWatchers = options.Value.MaxWatchers;
    private int watchers;

    public Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        if (!known.Contains(request.Service))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"unknown service '{EchoedText.Shorten(request.Service, 200)}'"));
        }

        return Task.FromResult(new HealthCheckResponse { Status = StatusOf(health.Current) });
    }

    public async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responses, ServerCallContext context)
    {
        if (Interlocked.Increment(ref watchers) > maxWatchers)
        {
            Interlocked.Decrement(ref watchers);
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"too many health watchers (Health:MaxWatchers is {maxWatchers})"));
        }

        try
        {
            var cancellationToken = context.CancellationToken;
            if (!known.Contains(request.Service))
            {
                await responses.WriteAsync(new HealthCheckResponse { Status = ServingStatus.ServiceUnknown }, cancellationToken);
                using var untilStopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
                await Task.Delay(Timeout.Infinite, untilStopping.Token).ContinueWith(static _ => { }, TaskScheduler.Default);
                cancellationToken.ThrowIfCancellationRequested();
                return;
            }

            var next = health.NextChange;
            var sent = StatusOf(health.Current);
            await responses.WriteAsync(new HealthCheckResponse { Status = sent }, cancellationToken);
            while (!health.Current.Stopping)
            {
                await next.WaitAsync(cancellationToken);
                // The next change is taken before the current report is read, so no change in between is missed.
                next = health.NextChange;
                var status = StatusOf(health.Current);
                if (status != sent)
                {
                    await responses.WriteAsync(new HealthCheckResponse { Status = status }, cancellationToken);
                    sent = status;
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref watchers);
        }
    }

    private static ServingStatus StatusOf(HealthReport report) => report.Serving ? ServingStatus.Serving : ServingStatus.NotServing;

}
