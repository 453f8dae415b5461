namespace CommsCredits.Gateway.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using Microsoft.Extensions.Options;
using LedgerEntryKind = CommsCredits.Gateway.Ledger.LedgerEntryKind;
using LotSource = CommsCredits.Gateway.Ledger.LotSource;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>
/// One-shot charging events (RFC 8506 section 6): direct debit, refund, balance check and price enquiry. Debit and
/// Refund are remembered under their session id like a session's requests, so a retry gets the first answer.
/// </summary>
public sealed class EventCharging(TenantCatalog catalog, CallRating rating, HotState hotState, BalanceCredits credits, IOptions<ChargingOptions> options)
{
    private readonly ChargingOptions settings = options.Value;

    public async Task<DebitResponse> DebitAsync(DebitRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.NewCall(request.SessionId, request.RequestNumber, request.TenantId, request.UserId, request.CallType, request.CallingNumber, request.CalledNumber);
        RequestValidator.Seconds(request.UsedSeconds, "used_seconds");
        if (request.UsedSeconds == 0)
        {
            throw RequestValidator.Invalid("used_seconds must be at least 1 for a direct debit");
        }

        var rated = await rating.RateAsync(request.TenantId, request.CallType, request.UserId, request.CallingNumber, request.CalledNumber, cancellationToken);
        if (rated.Refusal is { } refusal)
        {
            return new DebitResponse { ResultCode = refusal.Code, ResultMessage = refusal.Message };
        }

        var (profile, tariff, now) = (rated.Profile!, rated.Tariff!, rated.RatedAt);

        var fingerprint = RequestFingerprint.Of(
            "Debit", request.TenantId, request.UserId, Text((int)request.CallType), request.CallingNumber, request.CalledNumber, Text(request.UsedSeconds));
        string[] arguments =
        [
            fingerprint, Milliseconds(now), Text(request.UsedSeconds), .. TariffArguments(tariff), Text((int)request.CallType), request.UserId,
            request.CallingNumber, request.CalledNumber, tariff.DestinationName, tariff.Prefix, Milliseconds(tariff.EffectiveFrom), request.SessionId,
            Text(settings.SessionRetentionSeconds), .. rated.Coverage.Arguments(now), profile.Tenant.TriggerArgument,
            profile.Tenant.LowBalanceLevelsArgument,
        ];
        string[] keys =
        [
            HotStateKeys.Account(request.TenantId), HotStateKeys.Session(request.TenantId, request.SessionId), HotStateKeys.Pending(request.TenantId),
            HotStateKeys.Lots(request.TenantId), HotStateKeys.LotExpiry(request.TenantId),
        ];
        var reply = await hotState.RunAsync(request.TenantId, HotScriptName.DebitEvent, keys, arguments, cancellationToken);
        if (reply is null)
        {
            return new DebitResponse { ResultCode = ResultCode.UserUnknown, ResultMessage = CallRating.UnknownTenant(request.TenantId) };
        }

        var answer = HotAnswer.Decode(reply[1]!);
        EnsureSameRequest(answer.Fingerprint, fingerprint, request.SessionId, request.RequestNumber);
        await hotState.SettleAsync(request.TenantId, reply[2], cancellationToken);
        var currency = profile.Tenant.Currency;
        return new DebitResponse
        {
            ResultCode = (ResultCode)answer.ResultCode,
            ResultMessage = (ResultCode)answer.ResultCode switch
            {
                ResultCode.CreditLimitReached => "the available balance cannot pay for this call; nothing was debited",
                ResultCode.EndUserServiceDenied => CallEntitlements.PoolUsedUp(rated.Coverage.PoolId, request.UserId) + "; nothing was debited",
                _ => string.Empty,
            },
            Charged = Money(answer.ChargedMicros, currency),
            BilledSeconds = (uint)answer.BilledSeconds,
            Rate = StoredRate(reply, 3, currency),
            IncludedSeconds = (uint)answer.IncludedSecondsUsed,
        };
    }

    public async Task<RefundResponse> RefundAsync(RefundRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.SessionId(request.SessionId);
        RequestValidator.RequestNumber(request.RequestNumber, initialOrEvent: true);
        RequestValidator.TenantId(request.TenantId);
        RequestValidator.Text(request.Reason, "reason", required: true);
        if (request.RefundedSessionId.Length > 0)
        {
            RequestValidator.SessionId(request.RefundedSessionId, "refunded_session_id");
        }

        var profile = await catalog.GetAsync(request.TenantId, cancellationToken);
        if (profile is null)
        {
            return new RefundResponse { ResultCode = ResultCode.UserUnknown, ResultMessage = CallRating.UnknownTenant(request.TenantId) };
        }

        var currency = profile.Tenant.Currency;
        var amount = RequestValidator.PositiveAmount(request.Amount, "amount", currency, settings.MaxRefundMicros);
        var credit = new CreditRequest(
            LedgerEntryKind.Refund, amount, request.SessionId, request.RefundedSessionId, request.Reason,
            RequestFingerprint.Of("Refund", Text(amount), request.Reason, request.RefundedSessionId),
            $"request number {request.RequestNumber} of session {request.SessionId}", LotSource.Refund, profile.Tenant.FundingExpiryMonths);
        var answer = await credits.CreditAsync(request.TenantId, HotStateKeys.Session(request.TenantId, request.SessionId), credit, settings.SessionRetentionSeconds, cancellationToken);
        if (answer is null)
        {
            return new RefundResponse { ResultCode = ResultCode.UserUnknown, ResultMessage = CallRating.UnknownTenant(request.TenantId) };
        }

        return new RefundResponse { ResultCode = ResultCode.Success, Refunded = Money(answer.Value.AmountMicros, currency) };
    }

    public async Task<CheckBalanceResponse> CheckBalanceAsync(CheckBalanceRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        var profile = await catalog.GetAsync(request.TenantId, cancellationToken);
        var balance = profile is null ? null : await hotState.ReadBalanceAsync(request.TenantId, cancellationToken);
        if (profile is null || balance is null)
        {
            return new CheckBalanceResponse { ResultCode = ResultCode.UserUnknown, ResultMessage = CallRating.UnknownTenant(request.TenantId) };
        }

        return new CheckBalanceResponse { ResultCode = ResultCode.Success, Balance = BalanceView(balance.Value.BalanceMicros, balance.Value.HeldMicros, profile.Tenant.Currency) };
    }

    public async Task<PriceEnquiryResponse> PriceEnquiryAsync(PriceEnquiryRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        RequestValidator.CallTypeDefined(request.CallType);
        RequestValidator.Number(request.CallingNumber, "calling_number");
        RequestValidator.Number(request.CalledNumber, "called_number");
        RequestValidator.Seconds(request.Seconds, "seconds");
        var rated = await rating.RateAsync(request.TenantId, request.CallType, userId: null, request.CallingNumber, request.CalledNumber, cancellationToken);
        if (rated.Refusal is { } refusal)
        {
            return new PriceEnquiryResponse { ResultCode = refusal.Code, ResultMessage = refusal.Message };
        }

        var (profile, tariff) = (rated.Profile!, rated.Tariff!);
        var billed = TariffMath.BilledSeconds(request.Seconds, tariff);
        var currency = profile.Tenant.Currency;
        return new PriceEnquiryResponse
        {
            ResultCode = ResultCode.Success,
            Cost = Money(TariffMath.CostMicros(billed, tariff), currency),
            BilledSeconds = (uint)billed,
            Rate = Rate(tariff, currency),
        };
    }
}
