namespace CommsCredits.Tests.Fuzzing;

using System.Buffers.Binary;
using System.Net;
using CommsCredits.Contracts.V1;
using Google.Protobuf;
using Shouldly;
using Xunit;

/// <summary>
/// Malformed gRPC framing and HTTP sent to the gateway (real keys, real tenant): each gets the answer the gRPC
/// HTTP/2 protocol calls for, a gateway that keeps serving, and no error log.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class MalformedRequestTests(FuzzGatewayFixture fixture) : IAsyncLifetime
{
    private const int Ok = 0;
    private const int DeadlineExceeded = 4;
    private const int ResourceExhausted = 8;
    private const int Unimplemented = 12;
    private const int Internal = 13;
    private const string CheckBalance = "/commscredits.v1.Charging/CheckBalance";
    private const string Refund = "/commscredits.v1.Charging/Refund";

    /// <summary>The gateway's default Grpc:MaxReceiveMessageSizeBytes (4 MiB).</summary>
    private const int MaxReceiveMessageSizeBytes = 4 * 1024 * 1024;

    public static TheoryData<string, byte[], string?, int, string> BrokenFramings() => new()
    {
        { "compressed flag without grpc-encoding", Framed(1, Valid()), null, Internal, "compressed flag" },
        { "compressed flag with identity", Framed(1, Valid()), "identity", Internal, "compressed flag" },
        { "compressed flag with an encoding we lack", Framed(1, Valid()), "snappy", Unimplemented, "snappy" },
        { "flag value 2", Framed(2, Valid()), null, Internal, "invalid compressed flag" },
        { "gzip flag on bytes that are not gzip", Framed(1, Valid()), "gzip", Internal, "failed to decompress" },
        { "length prefix larger than the body", Prefix(100, Valid()), null, Internal, "incomplete request message" },
        { "truncated prefix", [0, 0, 0], null, Internal, "incomplete request message" },
        { "no message at all", [], null, Internal, "no request message" },
        { "declared length over the receive limit", Prefix(MaxReceiveMessageSizeBytes + 1, []), null, ResourceExhausted, "larger than the limit" },
        { "declared length 4 GiB - 1", Prefix(uint.MaxValue, []), null, ResourceExhausted, "larger than the limit" },
        { "two messages on a unary method", [.. Framed(0, Valid()), .. Framed(0, Valid())], null, Internal, "more than one request message" },
        { "a message and a stray byte", [.. Framed(0, Valid()), 0], null, Internal, "more than one request message" },
    };

    [Theory]
    [MemberData(nameof(BrokenFramings))]
    public async Task Broken_framing_gets_the_status_the_protocol_calls_for(string because, byte[] body, string? encoding, int expected, string detail)
    {
        // Proves each framing error on a real gateway method is a clear gRPC status naming the problem.
        var headers = encoding is null ? Array.Empty<(string, string)>() : [("grpc-encoding", encoding)];
        var answer = await FuzzProbe.SendAsync(fixture.Raw, CheckBalance, body, "Bearer " + fixture.Gateway.NetworkElementKey, headers: headers);

        FuzzProbe.Problem(answer, CheckBalanceResponse.Descriptor).ShouldBeNull(because);
        answer.Code.ShouldBe(expected, because);
        answer.GrpcMessage.ShouldNotBeNull().ShouldContain(detail, Case.Sensitive, because);
    }

    [Fact]
    public async Task Length_delimited_field_of_2_GiB_inside_a_message_is_INTERNAL_not_UNKNOWN()
    {
        // Regression (found by the mutation fuzzer): a message field (Refund's amount, field 4) declaring 2^31 - 1
        // bytes overflows Google.Protobuf's limit arithmetic, so the truncation check is skipped; an unknown
        // length-delimited field inside it that runs past the end then throws ArgumentOutOfRangeException, not
        // InvalidProtocolBufferException, and the transport answered UNKNOWN "exception was thrown by the handler"
        // (logged as a handler failure at Error).
        byte[] message = [0x0A, 0x01, 0x61, 0x22, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x7A, 0x10, 0x01, 0x02];
        var answer = await FuzzProbe.SendAsync(fixture.Raw, Refund, Framed(0, message), "Bearer " + fixture.Gateway.NetworkElementKey);

        FuzzProbe.Problem(answer, RefundResponse.Descriptor).ShouldBeNull();
        answer.Code.ShouldBe(Internal);
        answer.GrpcMessage.ShouldBe("failed to parse request message: a length or size in it is out of range");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json")]
    [InlineData("application/grpc-web")]
    public async Task Wrong_content_type_is_HTTP_415(string contentType)
    {
        // Proves PROTOCOL-HTTP2's rule: a content type that is not application/grpc is HTTP 415, so no HTTP client
        // takes the answer for a success (a 200 with a gRPC status would look like one).
        var answer = await FuzzProbe.SendAsync(fixture.Raw, CheckBalance, Framed(0, Valid()), "Bearer " + fixture.Gateway.NetworkElementKey, contentType);

        answer.HttpStatus.ShouldBe(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Missing_te_trailers_is_served()
    {
        // Proves the choice documented in docs/fuzzing.md: like grpc-go and grpc-java (and unlike C-core) the server does
        // not police "te: trailers", which proxies strip as a hop-by-hop header; the call is answered normally.
        using var request = new HttpRequestMessage(HttpMethod.Post, CheckBalance)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(Framed(0, ValidForTenant())),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("authorization", "Bearer " + fixture.Gateway.NetworkElementKey);
        var answer = await FuzzProbe.SendAsync(fixture.Raw, request);

        FuzzProbe.Problem(answer, CheckBalanceResponse.Descriptor).ShouldBeNull();
        answer.Code.ShouldBe(Ok);
        ((CheckBalanceResponse)FuzzProbe.ResponseMessage(answer.Body, CheckBalanceResponse.Descriptor)).ResultCode.ShouldBe(ResultCode.Success);
    }

    [Theory]
    [InlineData("abc", Internal)]
    [InlineData("1", Internal)]
    [InlineData("S", Internal)]
    [InlineData("123456789S", Internal)]
    [InlineData("-1S", Internal)]
    [InlineData("1.5S", Internal)]
    [InlineData("10s", Internal)]
    [InlineData("1 S", Internal)]
    [InlineData("0n", DeadlineExceeded)]
    [InlineData("99999999H", Ok)]
    public async Task Grpc_timeout_values_are_parsed_strictly(string timeout, int expected)
    {
        // Proves a malformed grpc-timeout is INTERNAL naming the header (never a silently dropped deadline), zero is
        // DEADLINE_EXCEEDED at once, and the largest valid value is served.
        var answer = await FuzzProbe.SendAsync(
            fixture.Raw, CheckBalance, Framed(0, Valid()), "Bearer " + fixture.Gateway.NetworkElementKey, headers: ("grpc-timeout", timeout));

        FuzzProbe.Problem(answer, CheckBalanceResponse.Descriptor).ShouldBeNull();
        answer.Code.ShouldBe(expected);
        if (expected == Internal)
        {
            answer.GrpcMessage.ShouldNotBeNull().ShouldContain("grpc-timeout");
        }
    }

    [Theory]
    [InlineData("/commscredits.v1.Ledger/Post", "unknown service commscredits.v1.Ledger")]
    [InlineData("/commscredits.v1.Charging/Steal", "unknown method Steal of service commscredits.v1.Charging")]
    [InlineData("/commscredits.v1.charging/CheckBalance", "unknown service commscredits.v1.charging")]
    [InlineData("/commscredits.v1.Charging/CheckBalance/extra", "unknown method CheckBalance/extra of service commscredits.v1.Charging")]
    [InlineData("/", "unknown service ")]
    [InlineData("/commscredits.v1.Charging", "unknown service commscredits.v1.Charging")]
    public async Task Unknown_paths_are_UNIMPLEMENTED_naming_what_is_unknown(string path, string detail)
    {
        // Proves any path that is not a bound method, with a gRPC content type, is UNIMPLEMENTED (Trailers-Only).
        var answer = await FuzzProbe.SendAsync(fixture.Raw, path, Framed(0, Valid()), "Bearer " + fixture.Gateway.NetworkElementKey);

        FuzzProbe.Problem(answer, null).ShouldBeNull();
        answer.Code.ShouldBe(Unimplemented);
        answer.GrpcMessage.ShouldBe(detail);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task Methods_other_than_POST_are_refused_with_405(string method)
    {
        // Proves a gRPC path requested with another HTTP method never reaches a handler: HTTP 405 (as grpc-java).
        using var request = new HttpRequestMessage(new HttpMethod(method), CheckBalance)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (!string.Equals(method, "GET", StringComparison.Ordinal))
        {
            request.Content = new ByteArrayContent(Framed(0, Valid()));
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        }

        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("authorization", "Bearer " + fixture.Gateway.NetworkElementKey);
        var answer = await FuzzProbe.SendAsync(fixture.Raw, request);

        answer.Failure.ShouldBeNull();
        answer.HttpStatus.ShouldBe(HttpStatusCode.MethodNotAllowed);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await fixture.ShouldStillServeAsync();
        fixture.ShouldHaveNoErrorLogs();
    }

    private byte[] ValidForTenant() => new CheckBalanceRequest { TenantId = fixture.TenantId }.ToByteArray();

    private static byte[] Valid() => new CheckBalanceRequest { TenantId = "t-fuzz-framing" }.ToByteArray();

    private static byte[] Framed(byte flag, byte[] payload) => FuzzProbe.Frame(payload, flag);

    /// <summary>A frame whose prefix declares <paramref name="declared"/> bytes, followed by <paramref name="payload"/>.</summary>
    private static byte[] Prefix(long declared, byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)declared);
        payload.CopyTo(frame, 5);
        return frame;
    }
}
