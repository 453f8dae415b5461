namespace CommsCredits.Tests.Charging;

using System.Net;
using System.Net.Http.Headers;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Protocol;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>Malformed requests get a clear status or result code, change nothing, and the server stays up.</summary>
public sealed class BadInputTests
{
    public static TheoryData<string, ReserveRequest, string> BadReserves()
    {
        var good = Reserve("tenant-x", "session-1", 60);
        ReserveRequest With(Action<ReserveRequest> change)
        {
            var request = good.Clone();
            change(request);
            return request;
        }

        return new TheoryData<string, ReserveRequest, string>
        {
            { "missing session id", With(r => r.SessionId = string.Empty), "session_id" },
            { "oversized session id", With(r => r.SessionId = new string('s', 129)), "session_id" },
            { "session id with a space", With(r => r.SessionId = "a b"), "session_id" },
            { "missing tenant", With(r => r.TenantId = string.Empty), "tenant_id" },
            { "tenant with a brace", With(r => r.TenantId = "a{b}"), "tenant_id" },
            { "missing user", With(r => r.UserId = string.Empty), "user_id" },
            { "no call type", With(r => r.CallType = CallType.Unspecified), "call_type" },
            { "unknown call type", With(r => r.CallType = (CallType)42), "call_type" },
            { "called number without plus", With(r => r.CalledNumber = "442079460000"), "called_number" },
            { "called number with letters", With(r => r.CalledNumber = "+44207946abc"), "called_number" },
            { "called number too long", With(r => r.CalledNumber = "+4420794600001234"), "called_number" },
            { "calling number starting with 0", With(r => r.CallingNumber = "+0123"), "calling_number" },
            { "huge requested seconds", With(r => r.RequestedSeconds = uint.MaxValue), "requested_seconds" },
            { "reserve with request number 1", With(r => r.RequestNumber = 1), "request_number" },
        };
    }

    [Theory]
    [MemberData(nameof(BadReserves))]
    public async Task A_malformed_reserve_is_refused_with_invalid_argument_naming_the_field(string because, ReserveRequest request, string field)
    {
        // Proves each malformed field is caught before any state is touched, with a message naming it.
        var gateway = await SharedGateway.GetAsync();
        var error = await Should.ThrowAsync<RpcException>(() => gateway.Charging.ReserveAsync(request), because);
        error.StatusCode.ShouldBe(StatusCode.InvalidArgument, because);
        error.Status.Detail.ShouldContain(field, Case.Sensitive, because);
    }

    [Fact]
    public async Task Bad_updates_and_terminations_are_refused_with_invalid_argument()
    {
        // Proves the same checks on the other session requests: request number 0, seconds beyond a day, and a
        // negative number sent as a uint32 (it arrives as 4294967295).
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000));
        var session = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, session, 60));

        foreach (var request in new[]
        {
            Update(tenant, session, 0, 10, 60),
            Update(tenant, session, 1, 86_401, 60),
            Update(tenant, session, 1, unchecked((uint)-1), 60),
            Update(tenant, session, 1, 10, 100_000),
        })
        {
            (await Should.ThrowAsync<RpcException>(() => gateway.Charging.UpdateAsync(request))).StatusCode.ShouldBe(StatusCode.InvalidArgument);
        }

        var terminate = Terminate(tenant, session, 1, 10);
        terminate.TerminationCause = (TerminationCause)99;
        (await Should.ThrowAsync<RpcException>(() => gateway.Charging.TerminateAsync(terminate))).StatusCode.ShouldBe(StatusCode.InvalidArgument);
        (await gateway.LedgerAsync(tenant)).Debited.ShouldBe(0);
        (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 1, 10))).ResultCode.ShouldBe(ResultCode.Success);
    }

    [Fact]
    public async Task Unknown_tenants_and_unrated_numbers_get_diameter_result_codes()
    {
        // Proves that denials are answers: an unknown tenant is 5030 USER_UNKNOWN, a number no rate covers is
        // 5031 RATING_FAILED, and neither creates any state.
        var gateway = await SharedGateway.GetAsync();
        var unknown = await gateway.Charging.ReserveAsync(Reserve("no-such-tenant", NewSessionId(), 60));
        unknown.ResultCode.ShouldBe(ResultCode.UserUnknown);
        unknown.ResultMessage.ShouldContain("no-such-tenant");
        (await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = "no-such-tenant" })).ResultCode.ShouldBe(ResultCode.UserUnknown);
        (await gateway.Charging.UpdateAsync(Update("no-such-tenant", NewSessionId(), 1, 1, 1))).ResultCode.ShouldBe(ResultCode.UserUnknown);

        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000));
        var unrated = await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60, called: "+4930123456"));
        unrated.ResultCode.ShouldBe(ResultCode.RatingFailed);
        unrated.ResultMessage.ShouldContain("+4930123456");
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((1_000_000L, 0L));
    }

    [Fact]
    public async Task Garbage_bytes_instead_of_protobuf_get_internal_and_the_server_keeps_serving()
    {
        // Proves a raw HTTP/2 gRPC request whose message is not protobuf is answered with a gRPC status, not a
        // crash, and the next good request is served.
        var gateway = await SharedGateway.GetAsync();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        byte[] garbage = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x12, 0x34];
        var framed = new byte[5 + garbage.Length];
        framed[4] = (byte)garbage.Length;
        garbage.CopyTo(framed, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.Address, "/commscredits.v1.Charging/Reserve"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(framed),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.ParseAdd("trailers");
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var status = response.Headers.TryGetValues("grpc-status", out var values) ? values.Single() : response.TrailingHeaders.GetValues("grpc-status").Single();
        status.ShouldBe(((int)StatusCode.Internal).ToString(System.Globalization.CultureInfo.InvariantCulture));

        var tenant = await gateway.CreateTenantAsync(1_000_000, Rate("44", 60_000));
        (await gateway.Charging.ReserveAsync(Reserve(tenant, NewSessionId(), 60))).ResultCode.ShouldBe(ResultCode.Success);
    }
}
