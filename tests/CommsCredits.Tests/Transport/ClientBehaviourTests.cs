namespace CommsCredits.Tests.Transport;

using System.Net;
using System.Net.Sockets;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Transport.Echo;
using Shouldly;
using Xunit;

/// <summary>What our client does on its own: limits, failures of the connection, option checks.</summary>
public sealed class ClientBehaviourTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>, IDisposable
{
    [Fact]
    public async Task Refused_connection_is_UNAVAILABLE()
    {
        // Proves a server that is not there gives UNAVAILABLE, the status that says "retry elsewhere".
        using var channel = GrpcChannel.ForAddress(new Uri($"http://127.0.0.1:{FreePort()}"));

        var exception = await Should.ThrowAsync<RpcException>(() => channel.UnaryAsync<EchoRequest, EchoResponse>(EchoTestService.UnaryMethod, new EchoRequest()));
        exception.StatusCode.ShouldBe(StatusCode.Unavailable);
    }

    [Fact]
    public async Task Server_stream_to_a_refused_connection_ends_with_UNAVAILABLE()
    {
        // Proves a streaming call that never reached a server throws UNAVAILABLE from its enumeration and
        // records it as the call's status.
        using var channel = GrpcChannel.ForAddress(new Uri($"http://127.0.0.1:{FreePort()}"));
        using var call = channel.ServerStreaming<EchoRequest, EchoResponse>(EchoTestService.ServerStreamMethod, new EchoRequest { ResponseCount = 1 });

        var exception = await Should.ThrowAsync<RpcException>(async () =>
        {
            await foreach (var response in call)
            {
                response.ShouldBeNull();
            }
        });
        exception.StatusCode.ShouldBe(StatusCode.Unavailable);
        call.Status.Code.ShouldBe(StatusCode.Unavailable);
    }

    [Fact]
    public async Task Response_over_the_client_limit_is_RESOURCE_EXHAUSTED()
    {
        // Proves the client's receive limit: a response larger than it fails the call without being buffered.
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxReceiveMessageSizeBytes = 1000 });

        var exception = await Should.ThrowAsync<RpcException>(() => channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { ResponseSizeBytes = 5000 }));
        exception.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        exception.Status.Detail.ShouldContain("1000");
    }

    [Fact]
    public async Task Request_over_the_client_limit_is_refused_before_sending()
    {
        // Proves the client's send limit: the call fails locally and the handler never sees it.
        var callId = Guid.NewGuid().ToString();
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxSendMessageSizeBytes = 100 });

        var exception = await Should.ThrowAsync<RpcException>(() => channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { Text = new string('x', 200), CallId = callId }));
        exception.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        server.Observations.For(callId).Started.Task.IsCompleted.ShouldBeFalse();
    }

    [Fact]
    public async Task Large_messages_within_the_limits_round_trip()
    {
        // Proves a request and a response of nearly 2 MiB each (the text is echoed) go through both ends.
        var result = await server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { Text = new string('q', 1_900_000) });

        result.Text.Length.ShouldBe(1_900_000);
    }

    [Fact]
    public async Task Trailers_only_error_carries_its_metadata_to_the_client()
    {
        // Proves our client reads the status and trailers of a Trailers-Only answer from the header block.
        var exception = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { FailCode = (int)StatusCode.NotFound, FailMessage = "no account 42" }));

        exception.StatusCode.ShouldBe(StatusCode.NotFound);
        exception.Trailers.GetValue("failure-detail").ShouldBe("from-handler");
    }

    [Fact]
    public async Task Unknown_method_is_UNIMPLEMENTED_through_our_client()
    {
        // Proves our client surfaces the server's UNIMPLEMENTED and its message.
        var exception = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            "/" + EchoTestService.ServiceName + "/Gone",
            new EchoRequest()));

        exception.StatusCode.ShouldBe(StatusCode.Unimplemented);
        exception.Status.Detail.ShouldBe("unknown method Gone of service " + EchoTestService.ServiceName);
    }

    [Fact]
    public async Task Non_grpc_answer_is_mapped_from_its_HTTP_status()
    {
        // Proves a response that is not gRPC at all (an HTTP 415) becomes a status instead of a parse error.
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { Handler = new ContentTypeRewriter() });

        var exception = await Should.ThrowAsync<RpcException>(() => channel.UnaryAsync<EchoRequest, EchoResponse>(EchoTestService.UnaryMethod, new EchoRequest()));
        exception.StatusCode.ShouldBe(StatusCode.Unknown);
        exception.Status.Detail.ShouldContain("415");
    }

    [Theory]
    [InlineData(0, "MaxReceiveMessageSizeBytes")]
    [InlineData(-1, "MaxSendMessageSizeBytes")]
    public void Bad_channel_options_are_refused_naming_the_setting(int value, string setting)
    {
        // Proves channel options are checked on creation and the error names the setting.
        var options = new GrpcChannelOptions();
        typeof(GrpcChannelOptions).GetProperty(setting)!.SetValue(options, value);

        Should.Throw<ArgumentOutOfRangeException>(() => GrpcChannel.ForAddress(new Uri("http://127.0.0.1:1"), options))
            .Message.ShouldContain("GrpcChannelOptions." + setting);
    }

    [Theory]
    [InlineData(0x8L, StatusCode.Cancelled)]
    [InlineData(0x7L, StatusCode.Unavailable)]
    [InlineData(0xBL, StatusCode.ResourceExhausted)]
    [InlineData(0xCL, StatusCode.PermissionDenied)]
    [InlineData(0x2L, StatusCode.Internal)]
    [InlineData(0x0L, StatusCode.Internal)]
    public void Reset_stream_codes_map_per_the_spec(long errorCode, StatusCode expected)
    {
        // Proves the RST_STREAM error code table of PROTOCOL-HTTP2.md.
        Grpc.Client.Internal.ClientCall.StatusForResetCode(errorCode).ShouldBe(expected);
    }

    public void Dispose() => server.AssertNoErrorLogs();

    /// <summary>A loopback port nothing listens on (it was free a moment ago).</summary>
    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Sends requests with a text/plain content type, so the server answers HTTP 415.</summary>
    private sealed class ContentTypeRewriter() : DelegatingHandler(new SocketsHttpHandler { UseProxy = false })
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Content!.Headers.Remove("Content-Type");
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "text/plain");
            return base.SendAsync(request, cancellationToken);
        }
    }
}
