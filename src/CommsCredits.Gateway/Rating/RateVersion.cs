using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating.Internal;

namespace CommsCredits.Gateway.Rating;

/// <summary>
/// One version of one prefix of one rate table: the call type whose table it belongs to and
/// the tariff (which carries the prefix and the moment it comes into force).
/// </summary>
public sealed class RateVersion
{
    public RateVersion(CallType callType, Tariff tariff)
    {
        ArgumentNullException.ThrowIfNull(tariff);
        TariffRules.ThrowIfBroken(TariffRules.CallTypeError(callType), "call_type", nameof(callType));
        CallType = callType;
        Tariff = tariff;
    }

    public CallType CallType { get; }

    public Tariff Tariff { get; }
}
