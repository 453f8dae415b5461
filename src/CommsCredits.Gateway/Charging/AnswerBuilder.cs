namespace CommsCredits.Gateway.Charging;

using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Rating;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf.WellKnownTypes;

/// <summary>Small pieces shared by the charging answers.</summary>
public static class AnswerBuilder
{
    public static Contracts.V1.Money Money(long micros, string currency) => new() { AmountMicros = micros, Currency = currency };

    public static RateSummary Rate(Tariff tariff, string currency) => new()
    {
        DestinationName = tariff.DestinationName,
        Prefix = tariff.Prefix,
        RatePerMinute = Money(tariff.RatePerMinuteMicros, currency),
        ConnectionFee = Money(tariff.ConnectionFeeMicros, currency),
        FirstIncrementSeconds = (uint)tariff.FirstIncrementSeconds,
        NextIncrementSeconds = (uint)tariff.NextIncrementSeconds,
        EffectiveFrom = Timestamp.FromDateTimeOffset(tariff.EffectiveFrom),
    };

    /// <summary>A balance as the API shows it; available is what is not held.</summary>
    public static Balance BalanceView(long balanceMicros, long heldMicros, string currency) => new()
    {
        Balance_ = Money(balanceMicros, currency),
        Held = Money(heldMicros, currency),
        Available = Money(balanceMicros - heldMicros, currency),
    };

    /// <summary>
    /// The tariff a script stored with its session, from seven reply items starting at <paramref name="offset"/>:
    /// destination, prefix, rate, fee, first, next, effective from ms.
    /// </summary>
    public static RateSummary StoredRate(string?[] reply, int offset, string currency) => new()
    {
        DestinationName = reply[offset] ?? string.Empty,
        Prefix = reply[offset + 1] ?? string.Empty,
        RatePerMinute = Money(Netstrings.ParseInteger(reply[offset + 2] ?? "0"), currency),
        ConnectionFee = Money(Netstrings.ParseInteger(reply[offset + 3] ?? "0"), currency),
        FirstIncrementSeconds = uint.Parse(reply[offset + 4] ?? "0", CultureInfo.InvariantCulture),
        NextIncrementSeconds = uint.Parse(reply[offset + 5] ?? "0", CultureInfo.InvariantCulture),
        EffectiveFrom = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(Netstrings.ParseInteger(reply[offset + 6] ?? "0"))),
    };

    /// <summary>The arguments that carry a tariff into a script: rate, fee, first, next.</summary>
    public static string[] TariffArguments(Tariff tariff) =>
    [
        Text(tariff.RatePerMinuteMicros),
        Text(tariff.ConnectionFeeMicros),
        Text(tariff.FirstIncrementSeconds),
        Text(tariff.NextIncrementSeconds),
    ];

    public static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Milliseconds(DateTimeOffset at) => Text(at.ToUnixTimeMilliseconds());

    /// <summary>
    /// A stored answer found for a (session, request number) whose fingerprint differs: the client reused the number
    /// for a different request. Refused; nothing changes.
    /// </summary>
    public static void EnsureSameRequest(string storedFingerprint, string fingerprint, string sessionId, uint requestNumber)
    {
        if (!string.Equals(storedFingerprint, fingerprint, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(
                StatusCode.FailedPrecondition,
                $"request number {requestNumber} of session {sessionId} was already used for a different request; a retry must repeat the request exactly"));
        }
    }
}
