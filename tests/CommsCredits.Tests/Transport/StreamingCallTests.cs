namespace CommsCredits.Tests.Transport;

using System.Diagnostics;
using System.Net;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Transport.Echo;
using Shouldly;
using Xunit;

/// <summary>Server-streaming, client-streaming and bidirectional calls over real HTTP/2.</summary>
public sealed class StreamingCallTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Server_stream_delivers_every_message_then_status_and_trailers()
    {
        // Proves our client reads all streamed responses in order, then an OK status with the handler's trailers.
        using var call = server.Channel.ServerStreaming<EchoRequest, EchoResponse>(
            EchoTestService.ServerStreamMethod,
            new EchoRequest { Text = "s", ResponseCount = 5, EchoMetadata = true },
            new CallOptions(Headers: new Metadata().Add("echo-stream", "yes")));
        var indexes = new List<int>();
        await foreach (var response in call)
        {
            indexes.Add(response.Index);
        }

        indexes.ShouldBe([0, 1, 2, 3, 4]);
        call.Status.Code.ShouldBe(StatusCode.OK);
        (await call.ResponseHeadersAsync).GetValue("echo-stream").ShouldBe("yes");
        call.Trailers.GetValue("trailer-echo-stream").ShouldBe("yes");
    }

    [Fact]
    public async Task Server_stream_sends_each_message_as_it_is_produced()
    {
        // Proves messages are flushed one by one: the handler waits 500 ms before each, so the first arrives about a
        // second before the last; buffered until the end, they would arrive together. Only the gap is judged: a loaded
        // machine delays every arrival (the first once took 1.07 s), which a bound on the first one mistook for buffering.
        using var call = server.Channel.ServerStreaming<EchoRequest, EchoResponse>(
            EchoTestService.ServerStreamMethod,
            new EchoRequest { ResponseCount = 3, DelayMs = 500 });
        var stopwatch = Stopwatch.StartNew();
        var arrivals = new List<TimeSpan>();
        await foreach (var response in call)
        {
            arrivals.Add(stopwatch.Elapsed);
        }

        arrivals.Count.ShouldBe(3);
        (arrivals[2] - arrivals[0]).ShouldBeGreaterThan(TimeSpan.FromMilliseconds(800));
    }

    [Fact]
    public async Task Server_stream_error_after_messages_comes_in_the_trailers()
    {
        // Proves a handler failing after some messages delivers them, then its status through our client.
        using var call = server.Channel.ServerStreaming<EchoRequest, EchoResponse>(
            EchoTestService.ServerStreamMethod,
            new EchoRequest { ResponseCount = 2, FailCode = (int)StatusCode.Aborted, FailMessage = "stopped" });
        var received = 0;
        var exception = await Should.ThrowAsync<RpcException>(async () =>
        {
            await foreach (var response in call)
            {
                received++;
            }
        });

        received.ShouldBe(2);
        exception.StatusCode.ShouldBe(StatusCode.Aborted);
        exception.Status.Detail.ShouldBe("stopped");
        call.Status.Code.ShouldBe(StatusCode.Aborted);
    }

    [Fact]
    public async Task Disposing_a_server_stream_early_cancels_the_handler()
    {
        // Proves abandoning a stream on the client cancels the server handler's token.
        var callId = Guid.NewGuid().ToString();
        var call = server.Channel.ServerStreaming<EchoRequest, EchoResponse>(
            EchoTestService.ServerStreamMethod,
            new EchoRequest { ResponseCount = 1000, DelayMs = 50, ObserveCancellation = true, CallId = callId });
        await using (var enumerator = call.GetAsyncEnumerator())
        {
            (await enumerator.MoveNextAsync()).ShouldBeTrue();
        }

        call.Dispose();
        await server.Observations.For(callId).TokenCancelled.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task Client_stream_reads_every_request_then_answers_once()
    {
        // Proves a client-streaming handler reads each request message and its one response ends the call.
        var content = new DuplexContent();
        foreach (var text in new[] { "a", "b", "c" })
        {
            await content.SendAsync(GrpcWire.Frame(new EchoRequest { Text = text }));
        }

        content.Complete();
        var response = await GrpcWire.SendAsync(server.RawClient, GrpcWire.Request(EchoTestService.ClientStreamMethod, content));

        response.Trailers["grpc-status"].ShouldBe("0");
        var echo = EchoResponse.Parser.ParseFrom(GrpcWire.Messages(response.Body).Single());
        echo.Text.ShouldBe("a,b,c");
        echo.Index.ShouldBe(3);
    }

    [Fact]
    public async Task Client_stream_with_an_oversized_message_is_RESOURCE_EXHAUSTED()
    {
        // Proves the receive limit applies to every message of a request stream, not only the first.
        var content = new DuplexContent();
        await content.SendAsync(GrpcWire.Frame(new EchoRequest { Text = "fine" }));
        await content.SendAsync([0, 0xFF, 0xFF, 0xFF, 0xFF]);
        content.Complete();
        var response = await GrpcWire.SendAsync(server.RawClient, GrpcWire.Request(EchoTestService.ClientStreamMethod, content));

        response.GrpcStatus.ShouldBe("8");
    }

    [Fact]
    public async Task Bidi_call_answers_each_request_before_the_next_is_sent()
    {
        // Proves full duplex: each response arrives while the request stream is still open, ping-pong style.
        var content = new DuplexContent();
        await content.SendAsync(GrpcWire.Frame(new EchoRequest { Text = "ping-0" }));
        using var response = await server.RawClient.SendAsync(
            GrpcWire.Request(EchoTestService.BidiMethod, content),
            HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        for (var round = 0; round < 3; round++)
        {
            var message = await DuplexContent.ReadMessageAsync(stream).WaitAsync(Bound);
            var echo = EchoResponse.Parser.ParseFrom(message);
            echo.Text.ShouldBe("ping-" + round.ToString(System.Globalization.CultureInfo.InvariantCulture));
            echo.Index.ShouldBe(round);
            await content.SendAsync(GrpcWire.Frame(new EchoRequest { Text = "ping-" + (round + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        }

        content.Complete();
        (await DuplexContent.ReadMessageAsync(stream).WaitAsync(Bound)).ShouldNotBeNull();
        (await DuplexContent.ReadMessageAsync(stream).WaitAsync(Bound)).ShouldBeNull();
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.TrailingHeaders.GetValues("grpc-status").Single().ShouldBe("0");
    }

    [Fact]
    public async Task Bidi_deadline_cancels_a_handler_waiting_for_requests()
    {
        // Proves a handler blocked reading a request stream that never ends is released by the deadline.
        var content = new DuplexContent();
        await content.SendAsync(GrpcWire.Frame(new EchoRequest { Text = "only" }));
        var stopwatch = Stopwatch.StartNew();
        using var response = await server.RawClient.SendAsync(
            GrpcWire.Request(EchoTestService.BidiMethod, content, headers: ("grpc-timeout", "300m")),
            HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        (await DuplexContent.ReadMessageAsync(stream).WaitAsync(Bound)).ShouldNotBeNull();
        (await DuplexContent.ReadMessageAsync(stream).WaitAsync(Bound)).ShouldBeNull();

        response.TrailingHeaders.GetValues("grpc-status").Single().ShouldBe("4");
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2));
        content.Complete();
    }

    public void Dispose() => server.AssertNoErrorLogs();
}
