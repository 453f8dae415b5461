namespace CommsCredits.Tests.Transport;

using System.Net;
using System.Net.Sockets;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Transport.Echo;
using Shouldly;
using Xunit;

/// <summary>Client-streaming calls through our client, against our server over real HTTP/2.</summary>
public sealed class ClientStreamingCallTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Every_request_arrives_in_order_and_the_one_response_ends_the_call()
    {
        // Proves the happy path: three requests, completion, then the handler's response, an OK status and the trailers.
        using var call = server.Channel.ClientStreaming<EchoRequest, EchoResponse>(EchoTestService.ClientStreamMethod);
        foreach (var text in new[] { "a", "b", "c" })
        {
            await call.WriteAsync(new EchoRequest { Text = text });
        }

        await call.CompleteAsync();
        var response = await call.ResponseAsync.WaitAsync(Bound);

        response.Text.ShouldBe("a,b,c");
        response.Index.ShouldBe(3);
        call.Status.Code.ShouldBe(StatusCode.OK);
        call.Trailers.ShouldNotBeNull();
        await Should.ThrowAsync<InvalidOperationException>(() => call.WriteAsync(new EchoRequest { Text = "late" }));
    }

    [Fact]
    public async Task Many_large_requests_flow_through_the_window_without_loss()
    {
        // Proves back-pressure and integrity: 40 requests of 256 KiB (10 MiB, far beyond the HTTP/2 windows) all
        // reach the handler in order. The bulk rides in fail_message, which the handler ignores without fail_code.
        using var call = server.Channel.ClientStreaming<EchoRequest, EchoResponse>(EchoTestService.ClientStreamMethod);
        for (var index = 0; index < 40; index++)
        {
            var request = new EchoRequest { Text = ((char)('A' + (index % 26))).ToString(), FailMessage = new string('.', 256 * 1024) };
            await call.WriteAsync(request).WaitAsync(Bound);
        }

        await call.CompleteAsync();
        var response = await call.ResponseAsync.WaitAsync(Bound);

        response.Index.ShouldBe(40);
        response.Text.Split(',').Select(text => text[0]).ShouldBe(Enumerable.Range(0, 40).Select(index => (char)('A' + (index % 26))));
    }

    [Fact]
    public async Task A_server_that_refuses_early_fails_the_writes_with_its_status()
    {
        // Proves early refusal reaches a client still sending: the handler fails on the first request while the
        // client keeps writing 1 MiB requests; a write then fails with the handler's status and message (not a
        // transport error), long before the 64 requests are sent, and the response carries the same status.
        using var call = server.Channel.ClientStreaming<EchoRequest, EchoResponse>(EchoTestService.ClientStreamMethod);
        var refusal = new EchoRequest { FailCode = (int)StatusCode.InvalidArgument, FailMessage = "line 3: prefix: bad" };
        await call.WriteAsync(refusal);

        var written = 1;
        var exception = await Should.ThrowAsync<RpcException>(async () =>
        {
            for (; written < 64; written++)
            {
                await call.WriteAsync(new EchoRequest { Text = new string('x', 1024 * 1024) }).WaitAsync(Bound);
            }
        });

        exception.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        exception.Status.Detail.ShouldBe("line 3: prefix: bad");
        written.ShouldBeLessThan(64);
        (await Should.ThrowAsync<RpcException>(() => call.ResponseAsync.WaitAsync(Bound))).StatusCode.ShouldBe(StatusCode.InvalidArgument);
        call.Status.Code.ShouldBe(StatusCode.InvalidArgument);
        call.Trailers.GetValue("failure-detail").ShouldBe("from-handler");
    }

    [Fact]
    public async Task A_request_over_the_send_limit_is_refused_locally_and_the_call_goes_on()
    {
        // Proves the client's send limit applies to each streamed request, before anything of it is sent.
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxSendMessageSizeBytes = 100 });
        using var call = channel.ClientStreaming<EchoRequest, EchoResponse>(EchoTestService.ClientStreamMethod);

        var exception = await Should.ThrowAsync<RpcException>(() => call.WriteAsync(new EchoRequest { Text = new string('x', 200) }));
        exception.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        await call.WriteAsync(new EchoRequest { Text = "small" });
        await call.CompleteAsync();
        (await call.ResponseAsync.WaitAsync(Bound)).Text.ShouldBe("small");
    }

    [Fact]
    public async Task The_deadline_ends_a_stream_that_is_never_completed()
    {
        // Proves the deadline bounds a client stream: the writer that pauses past it gets DEADLINE_EXCEEDED from its
        // next write and from the response, and the handler's token is cancelled.
        var callId = Guid.NewGuid().ToString();
        using var call = server.Channel.ClientStreaming<EchoRequest, EchoResponse>(
            EchoTestService.ClientStreamMethod, new CallOptions(Deadline: DateTime.UtcNow.AddMilliseconds(300)));
        await call.WriteAsync(new EchoRequest { CallId = callId });
        await server.Observations.For(callId).TokenCancelled.Task.WaitAsync(Bound);

        (await Should.ThrowAsync<RpcException>(() => call.ResponseAsync.WaitAsync(Bound))).StatusCode.ShouldBe(StatusCode.DeadlineExceeded);
        (await Should.ThrowAsync<RpcException>(() => call.WriteAsync(new EchoRequest()))).StatusCode.ShouldBe(StatusCode.DeadlineExceeded);
    }

    [Fact]
    public async Task Disposing_an_unfinished_stream_cancels_the_handler()
    {
        // Proves abandoning a client stream resets it, which cancels the server handler's token.
        var callId = Guid.NewGuid().ToString();
        var call = server.Channel.ClientStreaming<EchoRequest, EchoResponse>(EchoTestService.ClientStreamMethod);
        await call.WriteAsync(new EchoRequest { CallId = callId });
        await server.Observations.For(callId).Started.Task.WaitAsync(Bound);

        call.Dispose();
        await server.Observations.For(callId).TokenCancelled.Task.WaitAsync(Bound);
        (await Should.ThrowAsync<RpcException>(() => call.ResponseAsync.WaitAsync(Bound))).StatusCode.ShouldBe(StatusCode.Cancelled);
    }

    [Fact]
    public async Task A_stream_to_a_refused_connection_fails_its_write_with_UNAVAILABLE()
    {
        // Proves a client stream that never reached a server fails the waiting write, not only the response.
        using var channel = GrpcChannel.ForAddress(new Uri($"http://127.0.0.1:{FreePort()}"));
        using var call = channel.ClientStreaming<EchoRequest, EchoResponse>(EchoTestService.ClientStreamMethod);

        (await Should.ThrowAsync<RpcException>(() => call.WriteAsync(new EchoRequest()).WaitAsync(Bound))).StatusCode.ShouldBe(StatusCode.Unavailable);
        call.Status.Code.ShouldBe(StatusCode.Unavailable);
    }

    public void Dispose() => server.AssertNoErrorLogs();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
