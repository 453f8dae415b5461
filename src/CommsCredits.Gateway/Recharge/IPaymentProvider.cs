namespace CommsCredits.Gateway.Recharge;

/// <summary>
/// Takes money from a tenant's payment method. Every charge carries an idempotency key: the same key again never
/// charges twice, and the provider can be asked what became of a key, which is how an unknown outcome (a timeout, a
/// crash) is resolved before any new attempt.
/// </summary>
public interface IPaymentProvider
{
    /// <summary>
    /// Charges, or returns the outcome the key already has. Throws <see cref="PaymentOutcomeUnknownException"/> when it
    /// cannot say whether the money was taken (a timeout, a failure of the provider).
    /// </summary>
    Task<PaymentOutcome> ChargeAsync(PaymentCharge charge, CancellationToken cancellationToken);

    /// <summary>What became of the charge with this key; null when the provider never took one with it.</summary>
    Task<PaymentOutcome?> LookupAsync(string idempotencyKey, CancellationToken cancellationToken);
}

public sealed record PaymentCharge(string IdempotencyKey, string PaymentMethodReference, long AmountMicros, string Currency);

public enum PaymentStatus
{
    Charged,
    Declined,
    ExpiredCard,
}

/// <summary>A definite answer from the provider.</summary>
public sealed record PaymentOutcome(PaymentStatus Status, string Message);

/// <summary>The provider did not say whether the charge happened: ask <see cref="IPaymentProvider.LookupAsync"/> before any retry.</summary>
public sealed class PaymentOutcomeUnknownException : Exception
{
    public PaymentOutcomeUnknownException()
    {
    }

    public PaymentOutcomeUnknownException(string message)
        : base(message)
    {
    }

    public PaymentOutcomeUnknownException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
