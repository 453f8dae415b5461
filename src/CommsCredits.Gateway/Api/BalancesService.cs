namespace CommsCredits.Gateway.Api;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.BalanceWatch;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Hosting;

/// <summary>
/// The commscredits.v1.Balances service: a tenant's balance now, then each change its loop sees, until the client
/// ends the call or the gateway stops (UNAVAILABLE: an open watch must not hold up the drain).
/// </summary>
public sealed class BalancesService(BalanceWatchHub hub, TenantCatalog catalog, IHostApplicationLifetime lifetime)
{
    public async Task Watch(WatchBalanceRequest request, IServerStreamWriter<BalanceChange> changes, ServerCallContext context)
    {
        RequestValidator.TenantId(request.TenantId);
        using var untilStopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var cancellationToken = untilStopping.Token;
        var profile = await catalog.GetAsync(request.TenantId, cancellationToken);
        using var subscription = hub.Subscribe(request.TenantId);
        var first = profile is null ? null : await hub.ReadAsync(request.TenantId, cancellationToken);
        if (profile is null || first is not { } sent)
        {
            throw new RpcException(new Status(StatusCode.NotFound, CallRating.UnknownTenant(request.TenantId)));
        }

        var currency = profile.Tenant.Currency;
        ulong sequence = 1;
        try
        {
            await changes.WriteAsync(Change(sent, currency, sequence), cancellationToken);
            while (true)
            {
                var reading = await subscription.NextAsync(cancellationToken);
                if (reading.BalanceMicros != sent.BalanceMicros || reading.HeldMicros != sent.HeldMicros)
                {
                    await changes.WriteAsync(Change(reading, currency, ++sequence), cancellationToken);
                    sent = reading;
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the gateway is stopping; watch again on another"));
        }
    }

    private static BalanceChange Change(BalanceReading reading, string currency, ulong sequence) => new()
    {
        Balance = AnswerBuilder.BalanceView(reading.BalanceMicros, reading.HeldMicros, currency),
        ObservedAt = Timestamp.FromDateTimeOffset(reading.ObservedAt),
        Sequence = sequence,
    };
}
