namespace CommsCredits.Tests.Transport;

using CommsCredits.Tests.Transport.Echo;
using Shouldly;
using Xunit;

/// <summary>The HTTP/2 frames the server sends, seen below HttpClient.</summary>
public sealed class Http2FrameTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Unknown_method_is_one_HEADERS_frame_with_END_STREAM()
    {
        // Proves the Trailers-Only form on the wire: a single HEADERS frame ending the stream and no DATA frame.
        await using var connection = await RawHttp2Connection.ConnectAsync(server.Port);
        await connection.SendRequestHeadersAsync(1, "/" + EchoTestService.ServiceName + "/Missing", endStream: false);
        await connection.SendDataAsync(1, GrpcWire.Frame(new EchoRequest()), endStream: true);

        var frames = await connection.ReadStreamAsync(1, Bound);

        frames.Count.ShouldBe(1);
        frames[0].Type.ShouldBe(RawHttp2Connection.HeadersFrame);
        (frames[0].Flags & RawHttp2Connection.EndStreamFlag).ShouldBe(RawHttp2Connection.EndStreamFlag);
    }

    [Fact]
    public async Task Handler_error_before_any_response_is_one_HEADERS_frame()
    {
        // Proves an error raised before the first response message is also sent as Trailers-Only.
        await using var connection = await RawHttp2Connection.ConnectAsync(server.Port);
        await connection.SendRequestHeadersAsync(1, EchoTestService.UnaryMethod, endStream: false);
        await connection.SendDataAsync(1, GrpcWire.Frame(new EchoRequest { FailCode = 5, FailMessage = "no such account" }), endStream: true);

        var frames = await connection.ReadStreamAsync(1, Bound);

        frames.ShouldHaveSingleItem().Type.ShouldBe(RawHttp2Connection.HeadersFrame);
        frames.ShouldAllBe(frame => frame.Type != RawHttp2Connection.DataFrame);
    }

    [Fact]
    public async Task Request_sent_in_one_byte_DATA_frames_is_answered()
    {
        // Proves a message split into 1-byte DATA frames (and an empty final DATA frame with END_STREAM) is read
        // whole, and the answer is HEADERS, DATA, then trailers ending the stream.
        await using var connection = await RawHttp2Connection.ConnectAsync(server.Port);
        var frame = GrpcWire.Frame(new EchoRequest { Text = "split into single bytes" });
        await connection.SendRequestHeadersAsync(1, EchoTestService.UnaryMethod, endStream: false);
        for (var index = 0; index < frame.Length; index++)
        {
            await connection.SendDataAsync(1, frame.AsMemory(index, 1), endStream: false);
        }

        await connection.SendDataAsync(1, ReadOnlyMemory<byte>.Empty, endStream: true);
        var frames = await connection.ReadStreamAsync(1, Bound);

        frames[0].Type.ShouldBe(RawHttp2Connection.HeadersFrame);
        (frames[0].Flags & RawHttp2Connection.EndStreamFlag).ShouldBe((byte)0);
        frames[^1].Type.ShouldBe(RawHttp2Connection.HeadersFrame);
        (frames[^1].Flags & RawHttp2Connection.EndStreamFlag).ShouldBe(RawHttp2Connection.EndStreamFlag);
        var body = frames.Where(item => item.Type == RawHttp2Connection.DataFrame).SelectMany(item => item.Payload).ToArray();
        EchoResponse.Parser.ParseFrom(GrpcWire.Messages(body).Single()).Text.ShouldBe("split into single bytes");
    }

    [Fact]
    public async Task Status_before_the_request_ends_is_followed_by_RST_STREAM_NO_ERROR()
    {
        // Proves early server closure per PROTOCOL-HTTP2.md: when the deadline ends a call whose request stream
        // is still open, the status (Trailers-Only) is followed by RST_STREAM with NO_ERROR, freeing the stream.
        await using var connection = await RawHttp2Connection.ConnectAsync(server.Port);
        await connection.SendRequestHeadersAsync(1, EchoTestService.UnaryMethod, endStream: false, ("grpc-timeout", "100m"));

        var status = await connection.ReadStreamAsync(1, Bound);
        var reset = await connection.ReadStreamAsync(1, Bound);

        status.ShouldHaveSingleItem().Type.ShouldBe(RawHttp2Connection.HeadersFrame);
        reset.ShouldHaveSingleItem().Type.ShouldBe(RawHttp2Connection.RstStreamFrame);
        reset[0].Payload.ShouldBe(new byte[] { 0, 0, 0, 0 });
    }

    [Fact]
    public async Task A_request_body_broken_off_by_the_client_is_a_cancellation_not_a_handler_failure()
    {
        // Proves a request whose body read fails as Kestrel's does once the client reset the stream (an SBC giving up
        // on a call), before RequestAborted fires, is taken for the client's cancellation: nothing is answered to a
        // client that is gone, and no handler-failure error is logged (an error log pages someone). The fixture's
        // hook gives the request that body: a real RST_STREAM makes the same race only now and then.
        await using var connection = await RawHttp2Connection.ConnectAsync(server.Port);
        await connection.SendRequestHeadersAsync(1, EchoTestService.UnaryMethod, endStream: false, (GrpcServerFixture.BrokenBodyHeader, "1"));
        await connection.SendDataAsync(1, GrpcWire.Frame(new EchoRequest { Text = "never read" }), endStream: true);

        var frames = await connection.ReadStreamAsync(1, Bound);

        frames.ShouldNotBeEmpty();
        server.Logs.Errors.ShouldBeEmpty();
    }

    public void Dispose() => server.AssertNoErrorLogs();
}
