namespace CommsCredits.Tests.Transport;

using System.Buffers.Binary;
using System.Net;
using CommsCredits.Tests.Transport.Echo;
using Google.Protobuf;
using Shouldly;
using Xunit;

/// <summary>
/// What the server answers to requests a well-behaved client would never send, checked on the wire with a
/// plain HttpClient because our own client refuses to send most of them.
/// </summary>
public sealed class ProtocolErrorTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>, IDisposable
{
    private const string Unimplemented = "12";
    private const string Internal = "13";
    private const string ResourceExhausted = "8";

    [Fact]
    public async Task Unknown_service_is_UNIMPLEMENTED_as_trailers_only()
    {
        // Proves a gRPC request to a service we do not serve gets UNIMPLEMENTED naming the service, Trailers-Only.
        var response = await SendAsync("/other.v1.Ledger/Post", GrpcWire.Frame(new EchoRequest()));

        response.HttpStatus.ShouldBe(HttpStatusCode.OK);
        response.IsTrailersOnly.ShouldBeTrue();
        response.GrpcStatus.ShouldBe(Unimplemented);
        Decode(response.GrpcMessage).ShouldBe("unknown service other.v1.Ledger");
    }

    [Fact]
    public async Task Unknown_method_of_a_known_service_is_UNIMPLEMENTED_naming_both()
    {
        // Proves an unknown method of a bound service is told apart from an unknown service.
        var response = await SendAsync("/" + EchoTestService.ServiceName + "/Nope", GrpcWire.Frame(new EchoRequest()));

        response.IsTrailersOnly.ShouldBeTrue();
        response.GrpcStatus.ShouldBe(Unimplemented);
        Decode(response.GrpcMessage).ShouldBe("unknown method Nope of service " + EchoTestService.ServiceName);
    }

    [Fact]
    public async Task Method_paths_are_case_sensitive()
    {
        // Proves a path differing only in case does not reach the handler (ASP.NET routing alone would match it).
        var response = await SendAsync(EchoTestService.UnaryMethod.ToUpperInvariant(), GrpcWire.Frame(new EchoRequest()));

        response.GrpcStatus.ShouldBe(Unimplemented);
    }

    [Fact]
    public async Task Non_grpc_content_type_is_HTTP_415()
    {
        // Proves a bound method refuses a content type that is not application/grpc with HTTP 415, not a gRPC status.
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest()), "text/plain");

        response.HttpStatus.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        response.GrpcStatus.ShouldBeNull();
    }

    [Fact]
    public async Task Grpc_proto_content_type_is_accepted()
    {
        // Proves "application/grpc+proto" is served like "application/grpc".
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest { Text = "p" }), "application/grpc+proto");

        response.GrpcStatus.ShouldBe("0");
    }

    [Fact]
    public async Task Catch_all_leaves_non_grpc_requests_alone()
    {
        // Proves the UNIMPLEMENTED catch-all captures only gRPC-looking requests: other endpoints still work and
        // unknown non-gRPC paths still get a plain 404.
        using var health = await server.RawClient.GetAsync(new Uri("/healthz", UriKind.Relative));
        var notFound = await SendAsync("/no/such/page", [1, 2, 3], "application/json");

        health.StatusCode.ShouldBe(HttpStatusCode.OK);
        notFound.HttpStatus.ShouldBe(HttpStatusCode.NotFound);
        notFound.GrpcStatus.ShouldBeNull();
    }

    [Fact]
    public async Task Declared_length_over_the_limit_is_RESOURCE_EXHAUSTED_with_both_sizes()
    {
        // Proves the receive limit is enforced on the declared length, before the message is buffered: only the
        // 5-byte prefix is sent, and the error names both sizes.
        var header = new byte[5];
        var declared = GrpcServerFixture.MaxReceiveMessageSizeBytes + 1;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), (uint)declared);
        var response = await SendAsync(EchoTestService.UnaryMethod, header);

        response.GrpcStatus.ShouldBe(ResourceExhausted);
        var message = Decode(response.GrpcMessage);
        message.ShouldContain(declared.ToString(System.Globalization.CultureInfo.InvariantCulture));
        message.ShouldContain(GrpcServerFixture.MaxReceiveMessageSizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Message_larger_than_the_flow_control_window_is_received()
    {
        // Proves a 1.5 MiB request (twice Kestrel's 768 KiB stream window) arrives whole: the reader drains the
        // pipe while the message is still arriving instead of waiting for all of it.
        var request = new EchoRequest { Text = new string('x', 1536 * 1024) };
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame(request));

        response.GrpcStatus.ShouldBe("0");
        EchoResponse.Parser.ParseFrom(GrpcWire.Messages(response.Body)[0]).Text.Length.ShouldBe(request.Text.Length);
    }

    [Fact]
    public async Task Unparseable_message_is_INTERNAL()
    {
        // Proves bytes that are not a valid EchoRequest give INTERNAL "failed to parse request message".
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame([0xFF, 0xFF, 0xFF, 0xFF], compressedFlag: 0));

        response.GrpcStatus.ShouldBe(Internal);
        response.IsTrailersOnly.ShouldBeTrue();
        Decode(response.GrpcMessage).ShouldStartWith("failed to parse request message");
    }

    [Theory]
    [InlineData(new byte[0], "no request message")]
    [InlineData(new byte[] { 0, 0, 0, 0, 10, 1, 2 }, "incomplete request message")]
    [InlineData(new byte[] { 7, 0, 0, 0, 0 }, "invalid compressed flag")]
    [InlineData(new byte[] { 0, 0, 0 }, "incomplete request message")]
    public async Task Broken_framing_is_INTERNAL(byte[] body, string expected)
    {
        // Proves a missing message, a truncated message or prefix, and an invalid flag each give INTERNAL.
        var response = await SendAsync(EchoTestService.UnaryMethod, body);

        response.GrpcStatus.ShouldBe(Internal);
        Decode(response.GrpcMessage).ShouldContain(expected);
    }

    [Fact]
    public async Task Two_messages_on_a_unary_call_are_INTERNAL()
    {
        // Proves a unary call with a second request message is refused rather than silently ignoring one.
        var frame = GrpcWire.Frame(new EchoRequest { Text = "one" });
        var response = await SendAsync(EchoTestService.UnaryMethod, [.. frame, .. frame]);

        response.GrpcStatus.ShouldBe(Internal);
        Decode(response.GrpcMessage).ShouldContain("more than one request message");
    }

    [Fact]
    public async Task Gzip_compressed_message_is_decompressed()
    {
        // Proves a message with the compressed flag and grpc-encoding gzip is read.
        var compressed = GrpcWire.Gzip(new EchoRequest { Text = "squeezed" }.ToByteArray());
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame(compressed, compressedFlag: 1), headers: ("grpc-encoding", "gzip"));

        response.GrpcStatus.ShouldBe("0");
        EchoResponse.Parser.ParseFrom(GrpcWire.Messages(response.Body)[0]).Text.ShouldBe("squeezed");
        response.Headers.ContainsKey("grpc-encoding").ShouldBeFalse();
    }

    [Fact]
    public async Task Gzip_bomb_is_RESOURCE_EXHAUSTED()
    {
        // Proves the receive limit applies to the decompressed size: a few KiB that inflate past the limit fail.
        var inflated = new EchoRequest { Text = new string('0', GrpcServerFixture.MaxReceiveMessageSizeBytes + 1000) }.ToByteArray();
        var compressed = GrpcWire.Gzip(inflated);
        compressed.Length.ShouldBeLessThan(64 * 1024);
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame(compressed, compressedFlag: 1), headers: ("grpc-encoding", "gzip"));

        response.GrpcStatus.ShouldBe(ResourceExhausted);
        Decode(response.GrpcMessage).ShouldContain("decompressed");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("identity")]
    public async Task Compressed_flag_without_an_encoding_is_INTERNAL(string? encoding)
    {
        // Proves the compressed flag with no grpc-encoding, or with identity, is INTERNAL (compression.md).
        var headers = encoding is null ? Array.Empty<(string, string)>() : [("grpc-encoding", encoding)];
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest().ToByteArray(), compressedFlag: 1), headers: headers);

        response.GrpcStatus.ShouldBe(Internal);
        Decode(response.GrpcMessage).ShouldContain("compressed flag");
    }

    [Fact]
    public async Task Unsupported_encoding_is_UNIMPLEMENTED_with_the_accepted_encodings()
    {
        // Proves a message compressed with an encoding we lack gives UNIMPLEMENTED and grpc-accept-encoding.
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame([1, 2, 3], compressedFlag: 1), headers: ("grpc-encoding", "snappy"));

        response.GrpcStatus.ShouldBe(Unimplemented);
        response.Headers["grpc-accept-encoding"].ShouldBe("identity,gzip");
        Decode(response.GrpcMessage).ShouldContain("snappy");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("123456789S")]
    [InlineData("10s")]
    [InlineData("-1S")]
    public async Task Invalid_grpc_timeout_is_INTERNAL(string timeout)
    {
        // Proves a malformed grpc-timeout fails the call rather than silently dropping the client's deadline.
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest()), headers: ("grpc-timeout", timeout));

        response.GrpcStatus.ShouldBe(Internal);
        Decode(response.GrpcMessage).ShouldContain("grpc-timeout");
    }

    [Fact]
    public async Task Response_over_the_send_limit_is_RESOURCE_EXHAUSTED()
    {
        // Proves a handler's oversized response is not sent: the call ends with RESOURCE_EXHAUSTED instead.
        var response = await SendAsync(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest { ResponseSizeBytes = GrpcServerFixture.MaxSendMessageSizeBytes + 1 }));

        response.GrpcStatus.ShouldBe(ResourceExhausted);
        response.Body.Length.ShouldBe(0);
        server.Logs.Drain().ShouldContain(entry => entry.Message.Contains("over the limit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Message_split_into_single_bytes_is_read()
    {
        // Proves the framing reader copes with a request body delivered one byte per write and flush.
        var frame = GrpcWire.Frame(new EchoRequest { Text = "one byte at a time" });
        var response = await GrpcWire.SendAsync(server.RawClient, GrpcWire.Request(EchoTestService.UnaryMethod, new TrickleContent(frame)));

        response.GrpcStatus.ShouldBe("0");
        EchoResponse.Parser.ParseFrom(GrpcWire.Messages(response.Body)[0]).Text.ShouldBe("one byte at a time");
    }

    public void Dispose() => server.AssertNoErrorLogs();

    private static string Decode(string? percentEncoded) => Uri.UnescapeDataString(percentEncoded ?? string.Empty);

    private Task<RawResponse> SendAsync(string path, byte[] body, string contentType = "application/grpc", params (string Name, string Value)[] headers) =>
        GrpcWire.SendAsync(server.RawClient, GrpcWire.Request(path, body, contentType, headers));

    /// <summary>Writes its bytes one at a time, flushing after each, so they leave in separate DATA frames.</summary>
    private sealed class TrickleContent(byte[] bytes) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var index = 0; index < bytes.Length; index++)
            {
                await stream.WriteAsync(bytes.AsMemory(index, 1));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
