namespace CommsCredits.Tests.Transport;

using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Transport.Echo;
using Shouldly;
using Xunit;

/// <summary>Unary calls end to end: our client against our server on a real HTTP/2 loopback connection.</summary>
public sealed class UnaryCallTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>, IDisposable
{
    [Fact]
    public async Task Successful_call_returns_the_response_and_OK_trailers()
    {
        // Proves the basic round trip: the request reaches the handler and its response comes back with OK.
        var result = await server.Channel.UnaryWithMetadataAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { Text = "hello", ResponseSizeBytes = 10 });

        result.Response.Text.ShouldBe("hello");
        result.Response.Payload.Length.ShouldBe(10);
        result.Response.Peer.ShouldStartWith("ipv4:127.0.0.1:");
    }

    [Fact]
    public async Task Successful_call_over_raw_http2_has_OK_status_in_trailers()
    {
        // Proves the wire form of success: HEADERS, one length-prefixed DATA message, then grpc-status 0 in trailers.
        var response = await GrpcWire.SendAsync(
            server.RawClient,
            GrpcWire.Request(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest { Text = "raw" })));

        response.HttpStatus.ShouldBe(System.Net.HttpStatusCode.OK);
        response.Headers["content-type"].ShouldBe("application/grpc");
        response.Trailers["grpc-status"].ShouldBe("0");
        response.Trailers.ContainsKey("grpc-message").ShouldBeFalse();
        var messages = GrpcWire.Messages(response.Body);
        messages.Count.ShouldBe(1);
        EchoResponse.Parser.ParseFrom(messages[0]).Text.ShouldBe("raw");
    }

    [Fact]
    public async Task Application_error_reaches_the_client_with_its_code_message_and_trailers()
    {
        // Proves an RpcException from a handler becomes its status, its message survives percent-encoding, and
        // its trailers arrive.
        var exception = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { FailCode = (int)StatusCode.FailedPrecondition, FailMessage = "solde insuffisant: 5 € < 10 € (100%)" }));

        exception.StatusCode.ShouldBe(StatusCode.FailedPrecondition);
        exception.Status.Detail.ShouldBe("solde insuffisant: 5 € < 10 € (100%)");
        exception.Trailers.GetValue("failure-detail").ShouldBe("from-handler");
    }

    [Fact]
    public async Task Error_message_is_percent_encoded_on_the_wire()
    {
        // Proves grpc-message is percent-encoded exactly per spec: UTF-8 bytes outside 0x20-0x7E and '%' as %XX.
        var response = await GrpcWire.SendAsync(
            server.RawClient,
            GrpcWire.Request(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest { FailCode = 9, FailMessage = "5 € < 100%\n" })));

        response.GrpcStatus.ShouldBe("9");
        response.GrpcMessage.ShouldBe("5 %E2%82%AC < 100%25%0A");
    }

    [Fact]
    public async Task An_exception_a_registered_mapper_knows_gets_the_mapped_status_and_no_error_log()
    {
        // Proves IRpcExceptionMapper: the test server maps EchoDependencyDownException to UNAVAILABLE with its text;
        // it is an expected outcome, so nothing is logged at Error.
        var exception = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { DependencyDownMessage = "the ledger is down" }));

        exception.StatusCode.ShouldBe(StatusCode.Unavailable);
        exception.Status.Detail.ShouldBe("the ledger is down");
        server.Logs.Drain().ShouldNotContain(entry => entry.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task Handler_exception_becomes_UNKNOWN_without_leaking_its_text_and_is_logged()
    {
        // Proves an unexpected handler exception gives UNKNOWN with a generic message, and is logged at Error
        // with the method name, in the scope the handler named its call with (ServerCallContext.LogScope).
        var exception = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { Text = "call-7", ThrowMessage = "database password is hunter2" }));

        exception.StatusCode.ShouldBe(StatusCode.Unknown);
        exception.Status.Detail.ShouldNotContain("hunter2");
        var errors = server.Logs.Drain().Where(entry => entry.Level == Microsoft.Extensions.Logging.LogLevel.Error).ToList();
        errors.Count.ShouldBe(1);
        errors[0].Message.ShouldContain(EchoTestService.UnaryMethod);
        errors[0].Exception.ShouldBeOfType<InvalidOperationException>().Message.ShouldContain("hunter2");
        errors[0].Scopes[^1].ShouldBe("echo:call-7", "the innermost scope, inside the server's own (connection, request)");
    }

    [Fact]
    public async Task Metadata_round_trips_text_and_binary_values()
    {
        // Proves request metadata reaches the handler (reserved headers removed, "-bin" decoded) and the
        // handler's response headers and trailers reach the client, binary values included.
        var binary = new byte[] { 0, 1, 2, 250, 251, 252, 253, 254, 255 };
        var headers = new Metadata().Add("echo-text", "value with spaces").Add("echo-data-bin", binary);
        var result = await server.Channel.UnaryWithMetadataAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { EchoMetadata = true },
            new Grpc.Client.CallOptions(Headers: headers, Deadline: DateTime.UtcNow.AddSeconds(30)));

        result.ResponseHeaders.GetValue("echo-text").ShouldBe("value with spaces");
        result.ResponseHeaders.GetBytes("echo-data-bin").ShouldBe(binary);
        result.Trailers.GetValue("trailer-echo-text").ShouldBe("value with spaces");
        result.Trailers.GetBytes("trailer-echo-data-bin").ShouldBe(binary);
        var keys = result.Response.RequestMetadataKeys.ToHashSet(StringComparer.Ordinal);
        keys.Contains("echo-text").ShouldBeTrue();
        keys.Contains("user-agent").ShouldBeTrue();
        keys.Overlaps(["content-type", "te", "grpc-timeout", "grpc-accept-encoding", "host"]).ShouldBeFalse();
        result.Response.RequestMetadataKeys.ShouldAllBe(key => !key.StartsWith(':'));
    }

    [Fact]
    public async Task Binary_metadata_is_accepted_padded_unpadded_and_comma_joined()
    {
        // Proves the server accepts "-bin" values with and without base64 padding, and splits values joined
        // with "," (PROTOCOL-HTTP2.md), sending them back unpadded.
        var response = await GrpcWire.SendAsync(
            server.RawClient,
            GrpcWire.Request(
                EchoTestService.UnaryMethod,
                GrpcWire.Frame(new EchoRequest { EchoMetadata = true }),
                headers: [("echo-padded-bin", "AQI="), ("echo-unpadded-bin", "AQI"), ("echo-joined-bin", "AQI=,AwQ")]));

        response.GrpcStatus.ShouldBe("0");
        response.Headers["echo-padded-bin"].ShouldBe("AQI");
        response.Headers["echo-unpadded-bin"].ShouldBe("AQI");
        response.Headers["echo-joined-bin"].ShouldBe("AQI,AwQ");
    }

    [Fact]
    public async Task Invalid_binary_metadata_is_INTERNAL()
    {
        // Proves a "-bin" header that is not base64 fails the call with INTERNAL before the handler runs.
        var response = await GrpcWire.SendAsync(
            server.RawClient,
            GrpcWire.Request(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest()), headers: [("echo-bad-bin", "!!!not base64")]));

        response.GrpcStatus.ShouldBe("13");
        response.IsTrailersOnly.ShouldBeTrue();
        Uri.UnescapeDataString(response.GrpcMessage!).ShouldContain("echo-bad-bin");
    }

    [Fact]
    public async Task Many_concurrent_calls_share_one_channel()
    {
        // Proves the channel is safe to share: 200 concurrent calls each get their own response.
        var calls = Enumerable.Range(0, 200).Select(async index =>
        {
            var response = await server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
                EchoTestService.UnaryMethod,
                new EchoRequest { Text = index.ToString(System.Globalization.CultureInfo.InvariantCulture), DelayMs = index % 5 });
            return (index, response.Text);
        });

        foreach (var (index, text) in await Task.WhenAll(calls))
        {
            text.ShouldBe(index.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public void Dispose() => server.AssertNoErrorLogs();
}
