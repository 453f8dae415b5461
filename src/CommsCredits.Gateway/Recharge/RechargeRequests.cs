namespace CommsCredits.Gateway.Recharge;

using System.Text.Json;
using CommsCredits.Gateway.Ledger;
using Dapper;
using Npgsql;

/// <summary>A recharge request as the worker holds it.</summary>
public sealed record RechargeRequest(
    string TenantId, long Epoch, long OperationNumber, long AmountMicros, string Currency, string PaymentMethodReference, int Attempts, string? AttemptKey)
{
    public EntryKey Id => new(Epoch, OperationNumber);
}

/// <summary>The recharge requests in PostgreSQL: claimed with a lease, so several workers share them and a dead one's expire.</summary>
public sealed class RechargeRequests(NpgsqlDataSource dataSource)
{
    private const string Key = "tenant_id = @TenantId AND epoch = @Epoch AND operation_number = @OperationNumber";

    /// <summary>Claims up to <paramref name="limit"/> due requests (or ones whose worker's lease ran out).</summary>
    public async Task<IReadOnlyList<RechargeRequest>> ClaimAsync(int limit, int leaseSeconds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var claimed = await connection.QueryAsync<RechargeRequest>(new CommandDefinition(
            """
            UPDATE recharge_requests q
            SET status = 'charging', claimed_until = now() + make_interval(secs => @leaseSeconds)
            FROM (SELECT tenant_id, epoch, operation_number FROM recharge_requests
                  WHERE (status = 'due' AND next_attempt_at <= now()) OR (status = 'charging' AND claimed_until < now())
                  ORDER BY next_attempt_at
                  LIMIT @limit
                  FOR UPDATE SKIP LOCKED) c
            WHERE q.tenant_id = c.tenant_id AND q.epoch = c.epoch AND q.operation_number = c.operation_number
            RETURNING q.tenant_id AS TenantId, q.epoch AS Epoch, q.operation_number AS OperationNumber, q.amount_micros AS AmountMicros,
                      q.currency AS Currency, q.payment_method_reference AS PaymentMethodReference, q.attempts AS Attempts, q.attempt_key AS AttemptKey
            """,
            new { limit, leaseSeconds = (double)leaseSeconds },
            cancellationToken: cancellationToken));
        return claimed.AsList();
    }

    /// <summary>Records a new attempt's key before the provider is called, so that its outcome can always be asked for.</summary>
    public async Task<RechargeRequest> BeginAttemptAsync(RechargeRequest request, CancellationToken cancellationToken)
    {
        var attempts = request.Attempts + 1;
        // The payment method is part of the key: a request retried with a new method after a decline counts its attempts
        // from one again, and must not meet the declined method's keys.
        var method = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(request.PaymentMethodReference)))[..8];
        var attemptKey = $"recharge-{request.TenantId}-{request.Id}-{method}-{attempts}";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE recharge_requests SET attempts = @attempts, attempt_key = @attemptKey WHERE {Key} AND status = 'charging'",
            new { request.TenantId, request.Epoch, request.OperationNumber, attempts, attemptKey },
            cancellationToken: cancellationToken));
        return request with { Attempts = attempts, AttemptKey = attemptKey };
    }

    /// <summary>Puts the request back to wait <paramref name="delay"/>, keeping its last attempt key to ask about first.</summary>
    public async Task RescheduleAsync(RechargeRequest request, TimeSpan delay, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE recharge_requests SET status = 'due', claimed_until = NULL, next_attempt_at = now() + make_interval(secs => @seconds) WHERE {Key} AND status = 'charging'",
            new { request.TenantId, request.Epoch, request.OperationNumber, seconds = delay.TotalSeconds },
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Gives the request up and tells the tenant (recharge_failed), in one transaction. A failure caused by the payment
    /// method waits for a new one.
    /// </summary>
    public async Task FailAsync(RechargeRequest request, string reason, bool awaitsNewPaymentMethod, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var failed = await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE recharge_requests SET status = 'failed', claimed_until = NULL, completed_at = now(), failure_reason = @reason,
                   awaits_new_payment_method = @awaitsNewPaymentMethod
            WHERE {Key} AND status = 'charging'
            """,
            new { request.TenantId, request.Epoch, request.OperationNumber, reason, awaitsNewPaymentMethod },
            transaction,
            cancellationToken: cancellationToken));
        if (failed == 1)
        {
            var payload = JsonSerializer.Serialize(new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["recharge_id"] = request.Id.ToString(), ["amount_micros"] = request.AmountMicros, ["currency"] = request.Currency, ["reason"] = reason,
            });
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO notification_outbox (tenant_id, kind, event_id, payload, occurred_at)
                VALUES (@TenantId, 'recharge_failed', @eventId, @payload::jsonb, now())
                ON CONFLICT DO NOTHING
                """,
                new { request.TenantId, eventId = $"{request.Id}:recharge_failed:{request.AttemptKey ?? "none"}", payload },
                transaction,
                cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Requests that failed on the tenant's payment method are due again, with the new one (SetAutoRecharge calls this in
    /// its own transaction when the reference changes).
    /// </summary>
    public static Task<int> RetryWithNewPaymentMethodAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, string paymentMethodReference, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE recharge_requests
            SET status = 'due', payment_method_reference = @paymentMethodReference, attempts = 0, attempt_key = NULL,
                awaits_new_payment_method = false, failure_reason = NULL, completed_at = NULL, next_attempt_at = now()
            WHERE tenant_id = @tenantId AND status = 'failed' AND awaits_new_payment_method AND payment_method_reference <> @paymentMethodReference
            """,
            new { tenantId, paymentMethodReference },
            transaction,
            cancellationToken: cancellationToken));
}
