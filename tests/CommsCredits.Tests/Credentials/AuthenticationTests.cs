namespace CommsCredits.Tests.Credentials;

using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>Who may call: a missing or bad key is UNAUTHENTICATED, a key of the wrong role PERMISSION_DENIED.</summary>
public sealed class AuthenticationTests
{
    private const string ChargingDebit = "/commscredits.v1.Charging/Debit";
    private const string AccountsGetBalance = "/commscredits.v1.Accounts/GetBalance";

    [Fact]
    public async Task A_call_without_a_key_is_UNAUTHENTICATED_and_says_how_to_send_one()
    {
        // Proves both services refuse a call with no authorization metadata, with a message naming the expected form,
        // and that the refused debit took nothing.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000));

        var charging = await RefusedAsync(gateway, ChargingDebit, Debit(tenant));
        var accounts = await RefusedAsync(gateway, AccountsGetBalance, new GetBalanceRequest { TenantId = tenant });

        charging.StatusCode.ShouldBe(StatusCode.Unauthenticated);
        charging.Status.Detail.ShouldContain("authorization: Bearer <API key>");
        accounts.StatusCode.ShouldBe(StatusCode.Unauthenticated);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(0);
    }

    [Theory]
    [InlineData("Basic {0}")]
    [InlineData("Bearer")]
    [InlineData("Bearer  {0}")]
    [InlineData("Bearer {0} ")]
    [InlineData("Token {0}")]
    [InlineData("{0}")]
    [InlineData("Bearer not-a-key-at-all")]
    [InlineData("Bearer {0}x")]
    public async Task A_malformed_authorization_header_is_UNAUTHENTICATED_without_echoing_it(string form)
    {
        // Proves only "Bearer <key>" is accepted, and the refusal names the expected form but never repeats what was
        // sent (it may hold a real key). The key used here is valid, so only the form is wrong.
        var gateway = await SharedGateway.GetAsync();
        var value = string.Format(System.Globalization.CultureInfo.InvariantCulture, form, gateway.NetworkElementKey);

        var refused = await RefusedAsync(gateway, ChargingDebit, Debit("nobody"), value);

        refused.StatusCode.ShouldBe(StatusCode.Unauthenticated);
        refused.Status.Detail.ShouldContain("Bearer <API key>");
        refused.Status.Detail.ShouldNotContain(gateway.NetworkElementKey[4..16]);
        refused.Status.Detail.ShouldNotContain(gateway.NetworkElementKey[17..]);
    }

    [Fact]
    public async Task The_scheme_name_is_case_insensitive()
    {
        // Proves "bearer <key>" works like "Bearer <key>": RFC 9110 makes authentication scheme names case-insensitive.
        var gateway = await SharedGateway.GetAsync();
        var response = await gateway.Channel.UnaryAsync<CheckBalanceRequest, CheckBalanceResponse>(
            "/commscredits.v1.Charging/CheckBalance", new CheckBalanceRequest { TenantId = "nobody" }, Authorization("bearer " + gateway.NetworkElementKey));
        response.ResultCode.ShouldBe(ResultCode.UserUnknown);
    }

    [Fact]
    public async Task An_unknown_key_id_and_a_wrong_secret_are_both_UNAUTHENTICATED_with_one_message()
    {
        // Proves a well-formed key that was never created, and a real key id with another key's secret, are refused
        // alike: the answer does not tell a guesser which half was wrong.
        var gateway = await SharedGateway.GetAsync();
        var (_, neverCreated, _) = ApiKeyFormat.Generate();
        var (_, otherSecret, _) = ApiKeyFormat.Generate();
        var wrongSecret = gateway.NetworkElementKey[..17] + otherSecret[17..];

        var unknown = await RefusedAsync(gateway, ChargingDebit, Debit("nobody"), "Bearer " + neverCreated);
        var mismatched = await RefusedAsync(gateway, ChargingDebit, Debit("nobody"), "Bearer " + wrongSecret);

        unknown.StatusCode.ShouldBe(StatusCode.Unauthenticated);
        mismatched.StatusCode.ShouldBe(StatusCode.Unauthenticated);
        mismatched.Status.Detail.ShouldBe(unknown.Status.Detail);
    }

    [Fact]
    public async Task An_admin_key_on_Charging_and_a_network_element_key_on_Accounts_are_PERMISSION_DENIED()
    {
        // Proves roles are disjoint, the refusal names the role needed, and a refused debit or funding changes nothing.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000));
        var adminOnCharging = new ChargingClient(gateway.Channel, gateway.AdminKey);
        var networkElementOnAccounts = new AccountsClient(gateway.Channel, gateway.NetworkElementKey);

        var charging = await Should.ThrowAsync<RpcException>(() => adminOnCharging.DebitAsync(Debit(tenant)));
        var accounts = await Should.ThrowAsync<RpcException>(() => networkElementOnAccounts.AddFundsAsync(new AddFundsRequest
        {
            TenantId = tenant, Amount = new Money { AmountMicros = 5_000_000, Currency = "EUR" }, IdempotencyKey = "refused-" + tenant,
        }));

        charging.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        charging.Status.Detail.ShouldContain("needs a key of role network-element");
        accounts.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        accounts.Status.Detail.ShouldContain("needs a key of role admin");
        (await gateway.LedgerAsync(tenant)).ShouldBe((1_000_000L, 0L, 1_000_000L));
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((1_000_000L, 0L));
    }

    internal static DebitRequest Debit(string tenantId) => new()
    {
        SessionId = NewSessionId(),
        TenantId = tenantId,
        UserId = "alice@example.com",
        CallType = CallType.OutboundPstn,
        CallingNumber = Caller,
        CalledNumber = UkFixed,
        UsedSeconds = 60,
    };

    internal static CallOptions Authorization(params string[] values)
    {
        var headers = new Metadata();
        foreach (var value in values)
        {
            headers.Add("authorization", value);
        }

        return new CallOptions(Headers: headers, Deadline: DateTime.UtcNow.AddSeconds(10));
    }

    /// <summary>A call expected to be refused before its handler runs, so the response type does not matter.</summary>
    private static Task<RpcException> RefusedAsync<TRequest>(GatewayInstance gateway, string method, TRequest request, params string[] authorization)
        where TRequest : Google.Protobuf.IMessage<TRequest> =>
        Should.ThrowAsync<RpcException>(() => gateway.Channel.UnaryAsync<TRequest, Balance>(method, request, Authorization(authorization)));
}
