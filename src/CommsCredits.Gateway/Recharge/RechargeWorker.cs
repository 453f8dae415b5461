namespace CommsCredits.Gateway.Recharge;

using CommsCredits.Gateway.Metrics;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Storage;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// Makes due recharges happen, exactly once each: claims a request, resolves the outcome of its previous attempt
/// (if any) with the provider before trying again, charges the payment method under a recorded idempotency key, and
/// adds the funding lot through the ledger under the request's own funding key, in the same transaction that marks the
/// request paid and notifies the tenant. A worker that dies anywhere in between leaves the request to be claimed again
/// when its lease runs out; the provider's and the ledger's idempotency keys make the retry pay and fund once.
/// </summary>
public sealed partial class RechargeWorker(
    RechargeRequests requests,
    IPaymentProvider provider,
    BalanceCredits credits,
    TenantCatalog catalog,
    IOptions<RechargeOptions> options,
    IOptions<Accounts.AccountsOptions> accountsOptions,
    TimeProvider timeProvider,
    ILogger<RechargeWorker> logger,
    GatewayMetrics? metrics = null) : BackgroundService
{
    /// <summary>The funding idempotency keys of recharges start with this; AddFunds refuses it in its own keys.</summary>
    public const string FundingKeyPrefix = "recharge:";

    private readonly RechargeOptions settings = options.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        settings.WorkerEnabled
            ? PeriodicTimerExtensions.RunPeriodicallyAsync(
                TimeSpan.FromMilliseconds(settings.PollIntervalMs), timeProvider, RunOnceAsync, exception => LogRunFailed(logger, exception), stoppingToken)
            : Task.CompletedTask;

    /// <summary>Claims one batch of due requests and works on each; returns how many it claimed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var claimed = await requests.ClaimAsync(settings.BatchSize, settings.LeaseSeconds, cancellationToken);
        foreach (var request in claimed)
        {
            try
            {
                await ProcessAsync(request, cancellationToken);
            }
            catch (Exception exception) when (exception is NpgsqlException or StorageUnavailableException or TimeoutException)
            {
                // The lease frees the request for another try; nothing is lost and nothing is paid twice.
                LogRequestFailed(logger, exception, request.TenantId, request.Id.ToString());
                Count(RechargeOutcome.Error);
            }
            catch (RpcException exception)
            {
                // The balance refused the paid amount (its largest balance or lot count reached). The money was taken,
                // so the request is not given up: the lease frees it, and each retry funds it once it fits. Someone
                // must look: this is logged as an error.
                LogFundingRefused(logger, exception, request.TenantId, request.Id.ToString());
                Count(RechargeOutcome.Error);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Anything else (a provider's own failure while being asked about a key, a bug) must not stop the
                // process and with it every other tenant's recharges: this request's lease frees it for another try,
                // and the error is logged for someone to look at.
                LogRequestBroken(logger, exception, request.TenantId, request.Id.ToString());
                Count(RechargeOutcome.Error);
            }
        }

        return claimed.Count;
    }

    private async Task ProcessAsync(RechargeRequest request, CancellationToken cancellationToken)
    {
        PaymentOutcome? outcome = null;
        if (request.AttemptKey is { } previous)
        {
            // An earlier attempt ended without an answer: never charge again before knowing what became of it.
            outcome = await WithTimeoutAsync(token => provider.LookupAsync(previous, token), cancellationToken);
        }

        if (outcome is null)
        {
            if (request.Attempts >= settings.MaxAttempts)
            {
                await requests.FailAsync(request, $"the payment provider did not take the payment in {request.Attempts} attempts", awaitsNewPaymentMethod: false, cancellationToken);
                Count(RechargeOutcome.GaveUp);
                return;
            }

            request = await requests.BeginAttemptAsync(request, cancellationToken);
            try
            {
                outcome = await WithTimeoutAsync(
                    token => provider.ChargeAsync(new PaymentCharge(request.AttemptKey!, request.PaymentMethodReference, request.AmountMicros, request.Currency), token),
                    cancellationToken);
            }
            catch (Exception exception) when (exception is PaymentOutcomeUnknownException or TimeoutException)
            {
                LogOutcomeUnknown(logger, exception, request.TenantId, request.Id.ToString(), request.Attempts);
                await requests.RescheduleAsync(request, Backoff(request.Attempts), cancellationToken);
                Count(RechargeOutcome.Unknown);
                return;
            }
        }

        switch (outcome.Status)
        {
            case PaymentStatus.Charged:
                await FundAsync(request, cancellationToken);
                Count(RechargeOutcome.Funded);
                break;
            default:
                await requests.FailAsync(request, outcome.Message, awaitsNewPaymentMethod: true, cancellationToken);
                LogDeclined(logger, request.TenantId, request.Id.ToString(), outcome.Message);
                Count(RechargeOutcome.Declined);
                break;
        }
    }

    private void Count(string outcome) => metrics?.RechargeAttempts.WithLabels(outcome).Increment();

    /// <summary>Adds the paid amount as an auto-recharge lot; the ledger marks the request paid in the same transaction.</summary>
    private async Task FundAsync(RechargeRequest request, CancellationToken cancellationToken)
    {
        var profile = await catalog.GetAsync(request.TenantId, cancellationToken)
            ?? throw new InvalidOperationException($"tenant {request.TenantId} of recharge {request.Id} no longer exists");
        var key = FundingKeyPrefix + request.Id;
        var credit = new CreditRequest(
            LedgerEntryKind.Funding, request.AmountMicros, string.Empty, key, "auto-recharge " + request.PaymentMethodReference,
            Charging.RequestFingerprint.Of("Recharge", request.Id.ToString(), Charging.AnswerBuilder.Text(request.AmountMicros)), "recharge " + request.Id,
            LotSource.AutoRecharge, profile.Tenant.FundingExpiryMonths)
        {
            PaysRecharge = request.Id,
        };
        _ = await credits.CreditAsync(request.TenantId, HotStateKeys.Funding(request.TenantId, key), credit, accountsOptions.Value.FundingKeyRetentionSeconds, cancellationToken)
            ?? throw new InvalidOperationException($"tenant {request.TenantId} of recharge {request.Id} has no ledger");
        LogRecharged(logger, request.TenantId, request.Id.ToString(), request.AmountMicros);
    }

    private async Task<T> WithTimeoutAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.ProviderTimeoutMs);
        try
        {
            return await call(timeout.Token);
        }
        catch (OperationCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the payment provider did not answer within {settings.ProviderTimeoutMs} ms (Recharge:ProviderTimeoutMs)", exception);
        }
    }

    /// <summary>Exponential backoff with ±50% jitter, so failing requests of many tenants do not retry in step.</summary>
    private TimeSpan Backoff(int attempts)
    {
        var exponential = settings.BackoffBaseMs * Math.Pow(2, Math.Min(attempts - 1, 30));
        var capped = Math.Min(exponential, settings.BackoffMaxMs);
        return TimeSpan.FromMilliseconds(capped * (0.5 + Random.Shared.NextDouble()));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId}: recharge {RechargeId} of {AmountMicros} micros funded")]
    private static partial void LogRecharged(ILogger logger, string tenantId, string rechargeId, long amountMicros);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {TenantId}: recharge {RechargeId} refused by the payment provider: {Reason}")]
    private static partial void LogDeclined(ILogger logger, string tenantId, string rechargeId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {TenantId}: recharge {RechargeId} attempt {Attempt} has no known outcome; asked about before the next")]
    private static partial void LogOutcomeUnknown(ILogger logger, Exception exception, string tenantId, string rechargeId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {TenantId}: recharge {RechargeId} could not be worked on; its lease frees it for another try")]
    private static partial void LogRequestFailed(ILogger logger, Exception exception, string tenantId, string rechargeId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {TenantId}: recharge {RechargeId} was paid but its funding was refused; retried when its lease ends")]
    private static partial void LogFundingRefused(ILogger logger, Exception exception, string tenantId, string rechargeId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Tenant {TenantId}: recharge {RechargeId} failed unexpectedly; retried when its lease ends")]
    private static partial void LogRequestBroken(ILogger logger, Exception exception, string tenantId, string rechargeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A recharge run failed; the next run retries")]
    private static partial void LogRunFailed(ILogger logger, Exception exception);
}
