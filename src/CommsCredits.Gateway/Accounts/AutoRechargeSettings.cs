namespace CommsCredits.Gateway.Accounts;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Tenants;
using Dapper;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>A tenant's auto-recharge settings in PostgreSQL: validated here, used by the recharge worker.</summary>
public sealed class AutoRechargeSettings(NpgsqlDataSource dataSource)
{
    public async Task<AutoRecharge> GetAsync(TenantProfile profile, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            """
            SELECT enabled AS Enabled, trigger_micros AS TriggerMicros, recharge_micros AS RechargeMicros,
                   payment_method_reference AS PaymentMethodReference, updated_at AS UpdatedAt
            FROM auto_recharge_settings WHERE tenant_id = @tenantId
            """,
            new { tenantId = profile.Tenant.TenantId },
            cancellationToken: cancellationToken));
        return ToMessage(profile, row);
    }

    /// <summary>Validates and stores the settings; the amounts are bounded by the funding limits given.</summary>
    public async Task<AutoRecharge> SetAsync(TenantProfile profile, SetAutoRechargeRequest request, long minimumRechargeMicros, long maxFundingMicros, CancellationToken cancellationToken)
    {
        var currency = profile.Tenant.Currency;
        var trigger = TriggerMicros(request.Trigger, currency, maxFundingMicros);
        var recharge = RequestValidator.PositiveAmount(request.Recharge, "recharge", currency, maxFundingMicros);
        if (recharge < minimumRechargeMicros)
        {
            throw RequestValidator.Invalid($"recharge.amount_micros {recharge} is below the minimum funding of {minimumRechargeMicros} micro-units (Funding:MinimumOneOffMicros)");
        }

        if (request.PaymentMethodReference.Length > 0 || request.Enabled)
        {
            RequestValidator.SessionId(request.PaymentMethodReference, "payment_method_reference");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleAsync<Row>(new CommandDefinition(
            """
            INSERT INTO auto_recharge_settings (tenant_id, enabled, trigger_micros, recharge_micros, payment_method_reference)
            VALUES (@tenantId, @enabled, @trigger, @recharge, @reference)
            ON CONFLICT (tenant_id) DO UPDATE
                SET enabled = excluded.enabled, trigger_micros = excluded.trigger_micros, recharge_micros = excluded.recharge_micros,
                    payment_method_reference = excluded.payment_method_reference, updated_at = now()
            RETURNING enabled AS Enabled, trigger_micros AS TriggerMicros, recharge_micros AS RechargeMicros,
                      payment_method_reference AS PaymentMethodReference, updated_at AS UpdatedAt
            """,
            new { tenantId = profile.Tenant.TenantId, enabled = request.Enabled, trigger, recharge, reference = request.PaymentMethodReference },
            transaction,
            cancellationToken: cancellationToken));
        if (request.PaymentMethodReference.Length > 0)
        {
            await Recharge.RechargeRequests.RetryWithNewPaymentMethodAsync(connection, transaction, profile.Tenant.TenantId, request.PaymentMethodReference, cancellationToken);
        }

        // Every gateway's scripts need the new trigger: the tenant's profile reloads like on a directory change.
        await TenantRepository.RaiseProfileRevisionAsync(connection, transaction, profile.Tenant.TenantId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return ToMessage(profile, row);
    }

    /// <summary>The trigger may be zero (recharge only when the balance is spent) but not negative.</summary>
    private static long TriggerMicros(Contracts.V1.Money? trigger, string currency, long maxFundingMicros)
    {
        if (trigger is null)
        {
            throw RequestValidator.Invalid("trigger is required");
        }

        if (!string.Equals(trigger.Currency, currency, StringComparison.Ordinal))
        {
            throw RequestValidator.Invalid($"trigger.currency must be the tenant's currency {currency}");
        }

        if (trigger.AmountMicros < 0 || trigger.AmountMicros > maxFundingMicros)
        {
            throw RequestValidator.Invalid($"trigger.amount_micros must be between 0 and {maxFundingMicros} (got {trigger.AmountMicros})");
        }

        return trigger.AmountMicros;
    }

    private static AutoRecharge ToMessage(TenantProfile profile, Row? row)
    {
        var currency = profile.Tenant.Currency;
        var message = new AutoRecharge
        {
            TenantId = profile.Tenant.TenantId,
            Enabled = row?.Enabled ?? false,
            Trigger = Money(row?.TriggerMicros ?? 0, currency),
            Recharge = Money(row?.RechargeMicros ?? 0, currency),
            PaymentMethodReference = row?.PaymentMethodReference ?? string.Empty,
        };
        if (row is not null)
        {
            message.UpdatedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(row.UpdatedAt, DateTimeKind.Utc));
        }

        return message;
    }

    private sealed record Row(bool Enabled, long TriggerMicros, long RechargeMicros, string PaymentMethodReference, DateTime UpdatedAt);
}
