namespace CommsCredits.Gateway.Recharge;

using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>
/// A payment provider for development and tests whose behaviour follows the payment method reference:
/// <list type="bullet">
/// <item><c>pm_sandbox_ok</c>: charged;</item>
/// <item><c>pm_sandbox_declined</c>, <c>pm_sandbox_expired</c>: declined, expired card;</item>
/// <item><c>pm_sandbox_slow</c>: charged after Recharge:SandboxSlowMs;</item>
/// <item><c>pm_sandbox_timeout</c>: charged, but the answer never comes (the caller sees a timeout);</item>
/// <item><c>pm_sandbox_fail_after_charge</c>: charged, then the provider fails (the caller sees an error);</item>
/// <item><c>pm_sandbox_flaky</c>: fails without charging on every first and second attempt (keys ending -1, -2).</item>
/// </list>
/// Every other reference is declined. Charges are kept in PostgreSQL (<c>sandbox_payments</c>) by idempotency key, so a
/// key can be looked up after a timeout or a restart, and the same key never charges twice.
/// </summary>
public sealed class SandboxPaymentProvider(NpgsqlDataSource dataSource, IOptions<RechargeOptions> options) : IPaymentProvider
{
    public async Task<PaymentOutcome> ChargeAsync(PaymentCharge charge, CancellationToken cancellationToken)
    {
        if (await LookupAsync(charge.IdempotencyKey, cancellationToken) is { } known)
        {
            return known;
        }

        var method = charge.PaymentMethodReference;
        if (string.Equals(method, "pm_sandbox_flaky", StringComparison.Ordinal)
            && (charge.IdempotencyKey.EndsWith("-1", StringComparison.Ordinal) || charge.IdempotencyKey.EndsWith("-2", StringComparison.Ordinal)))
        {
            throw new PaymentOutcomeUnknownException("sandbox: the provider answered 503 before charging");
        }

        if (string.Equals(method, "pm_sandbox_slow", StringComparison.Ordinal))
        {
            await Task.Delay(options.Value.SandboxSlowMs, cancellationToken);
        }

        var outcome = method switch
        {
            "pm_sandbox_ok" or "pm_sandbox_slow" or "pm_sandbox_timeout" or "pm_sandbox_fail_after_charge" or "pm_sandbox_flaky" => "charged",
            "pm_sandbox_expired" => "expired_card",
            _ => "declined",
        };
        await RecordAsync(charge, outcome, cancellationToken);
        switch (method)
        {
            case "pm_sandbox_timeout":
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
                break;
            case "pm_sandbox_fail_after_charge":
                throw new PaymentOutcomeUnknownException("sandbox: the provider failed after taking the money");
        }

        return ToOutcome(outcome);
    }

    public async Task<PaymentOutcome?> LookupAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var outcome = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT outcome FROM sandbox_payments WHERE idempotency_key = @idempotencyKey", new { idempotencyKey }, cancellationToken: cancellationToken));
        return outcome is null ? null : ToOutcome(outcome);
    }

    private async Task RecordAsync(PaymentCharge charge, string outcome, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO sandbox_payments (idempotency_key, payment_method_reference, amount_micros, currency, outcome)
            VALUES (@IdempotencyKey, @PaymentMethodReference, @AmountMicros, @Currency, @outcome)
            ON CONFLICT DO NOTHING
            """,
            new { charge.IdempotencyKey, charge.PaymentMethodReference, charge.AmountMicros, charge.Currency, outcome },
            cancellationToken: cancellationToken));
    }

    private static PaymentOutcome ToOutcome(string outcome) => outcome switch
    {
        "charged" => new PaymentOutcome(PaymentStatus.Charged, "charged"),
        "expired_card" => new PaymentOutcome(PaymentStatus.ExpiredCard, "the card has expired"),
        _ => new PaymentOutcome(PaymentStatus.Declined, "the payment method was declined"),
    };
}
