namespace CommsCredits.Tests.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Protocol;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>Debit, Refund, CheckBalance and PriceEnquiry events.</summary>
public class EventChargingTests
{
    /// <summary>The gateway the tests run on: the shared one, on a single Redis; a derived class runs them on another.</summary>
    protected virtual Task<GatewayInstance> GatewayAsync() => SharedGateway.GetAsync();

    private static DebitRequest Debit(string tenant, string session, uint seconds) => new()
    {
        SessionId = session,
        TenantId = tenant,
        UserId = "bob@example.com",
        CallType = CallType.OutboundPstn,
        CallingNumber = Caller,
        CalledNumber = UkFixed,
        UsedSeconds = seconds,
    };

    [Fact]
    public async Task A_direct_debit_is_all_or_nothing_idempotent_and_writes_a_call_record()
    {
        // Proves DIRECT_DEBITING: 95 s at 0.06/min in 60/60 costs 0.12; it is debited once even when retried;
        // a debit the balance cannot cover is refused whole (4012) and debits nothing.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(200_000, Rate("44", 60_000, first: 60, next: 60));
        var session = NewSessionId();

        var debit = await gateway.Charging.DebitAsync(Debit(tenant, session, 95));
        debit.ResultCode.ShouldBe(ResultCode.Success);
        debit.Charged.AmountMicros.ShouldBe(120_000);
        debit.BilledSeconds.ShouldBe(120u);
        debit.Rate.Prefix.ShouldBe("44");
        (await gateway.Charging.DebitAsync(Debit(tenant, session, 95))).ShouldBe(debit);

        var tooMuch = await gateway.Charging.DebitAsync(Debit(tenant, NewSessionId(), 95));
        tooMuch.ResultCode.ShouldBe(ResultCode.CreditLimitReached);
        tooMuch.Charged.AmountMicros.ShouldBe(0);

        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(120_000);
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((1L, 120_000L));
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((80_000L, 0L));
    }

    [Fact]
    public async Task A_refund_credits_the_balance_once_and_is_bounded()
    {
        // Proves REFUND_ACCOUNT: the amount is credited once however often the event is retried; the same event id
        // with another amount is refused (FAILED_PRECONDITION); a refund in another currency or above the limit is
        // refused with INVALID_ARGUMENT; none of those credits anything.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(100_000, Rate("44", 60_000));
        var refund = new RefundRequest
        {
            SessionId = NewSessionId(),
            TenantId = tenant,
            Amount = new Money { AmountMicros = 25_000, Currency = "EUR" },
            Reason = "call dropped by the network",
            RefundedSessionId = "sbc1.example.net;earlier-call",
        };

        var first = await gateway.Charging.RefundAsync(refund);
        first.ResultCode.ShouldBe(ResultCode.Success);
        first.Refunded.AmountMicros.ShouldBe(25_000);
        (await gateway.Charging.RefundAsync(refund)).ShouldBe(first);
        var reused = refund.Clone();
        reused.Amount.AmountMicros = 30_000;
        var conflict = await Should.ThrowAsync<RpcException>(() => gateway.Charging.RefundAsync(reused));
        conflict.StatusCode.ShouldBe(StatusCode.FailedPrecondition);
        conflict.Status.Detail.ShouldContain(refund.SessionId);

        var wrongCurrency = refund.Clone();
        wrongCurrency.SessionId = NewSessionId();
        wrongCurrency.Amount.Currency = "USD";
        (await Should.ThrowAsync<RpcException>(() => gateway.Charging.RefundAsync(wrongCurrency))).StatusCode.ShouldBe(StatusCode.InvalidArgument);
        var tooBig = refund.Clone();
        tooBig.SessionId = NewSessionId();
        tooBig.Amount.AmountMicros = 1_000_000_001;
        (await Should.ThrowAsync<RpcException>(() => gateway.Charging.RefundAsync(tooBig))).StatusCode.ShouldBe(StatusCode.InvalidArgument);

        var ledger = await gateway.LedgerAsync(tenant);
        ledger.Sum.ShouldBe(125_000);
        (await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenant })).Balance.Available.AmountMicros.ShouldBe(125_000);
    }

    [Fact]
    public async Task A_price_enquiry_rates_without_changing_anything()
    {
        // Proves PRICE_ENQUIRY uses the same arithmetic: 61 s at 0.06/min in 60/1 with a 0.01 fee costs 0.071.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(100_000, Rate("44", 60_000, connectionFeeMicros: 10_000, first: 60, next: 1));
        var price = await gateway.Charging.PriceEnquiryAsync(new PriceEnquiryRequest
        {
            TenantId = tenant, CallType = CallType.OutboundPstn, CallingNumber = Caller, CalledNumber = UkFixed, Seconds = 61,
        });
        price.ResultCode.ShouldBe(ResultCode.Success);
        price.BilledSeconds.ShouldBe(61u);
        price.Cost.AmountMicros.ShouldBe(71_000);
        price.Rate.RatePerMinute.AmountMicros.ShouldBe(60_000);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((100_000L, 0L));
    }

    [Fact]
    public async Task Toll_free_calls_are_rated_on_the_calling_number()
    {
        // Proves the rated-number rule per call type: toll-free inbound uses the caller's origin, not the toll-free number.
        var gateway = await GatewayAsync();
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("1", 30_000, callType: CallType.TollFreeInbound));
        var price = await gateway.Charging.PriceEnquiryAsync(new PriceEnquiryRequest
        {
            TenantId = tenant, CallType = CallType.TollFreeInbound, CallingNumber = Caller, CalledNumber = "+448001234567", Seconds = 60,
        });
        price.ResultCode.ShouldBe(ResultCode.Success);
        price.Rate.Prefix.ShouldBe("1");
    }
}
