namespace CommsCredits.Tests.Transport;

using System.Diagnostics;
using System.Net;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Transport.Echo;
using Shouldly;
using Xunit;

/// <summary>The transport's call observer hook: told once per request, with the method, the status sent and the time.</summary>
public sealed class CallObserverTests(GrpcServerFixture fixture) : IClassFixture<GrpcServerFixture>
{
    [Fact]
    public async Task A_call_is_reported_once_with_its_full_method_name_status_and_duration()
    {
        // Proves the hook sees what the client sees: a unary call that waits 50 ms and succeeds is reported once as
        // OK with at least 50 ms; one that fails with UNAVAILABLE is reported UNAVAILABLE; a server stream that fails
        // after two messages is reported with the status of its trailers.
        fixture.CallsEnded.Clear();
        using (var ok = await fixture.RawClient.SendAsync(GrpcWire.Request(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest { Text = "hi", DelayMs = 50 }))))
        {
            await ok.Content.ReadAsByteArrayAsync();
        }

        var first = (await ReportedAsync(1))[0];
        first.Method.ShouldBe(EchoTestService.UnaryMethod);
        first.Status.ShouldBe(StatusCode.OK);
        first.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(45));

        using (var failed = await fixture.RawClient.SendAsync(GrpcWire.Request(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest { FailCode = 14, FailMessage = "down" }))))
        {
            await failed.Content.ReadAsByteArrayAsync();
        }

        using (var stream = await fixture.RawClient.SendAsync(GrpcWire.Request(
            EchoTestService.ServerStreamMethod, GrpcWire.Frame(new EchoRequest { ResponseCount = 2, FailCode = 9, FailMessage = "late" }))))
        {
            await stream.Content.ReadAsByteArrayAsync();
        }

        var reported = await ReportedAsync(3);
        reported[1].ShouldBe((EchoTestService.UnaryMethod, StatusCode.Unavailable, reported[1].Elapsed));
        reported[2].ShouldBe((EchoTestService.ServerStreamMethod, StatusCode.FailedPrecondition, reported[2].Elapsed));
    }

    [Fact]
    public async Task Paths_that_are_not_bound_methods_are_reported_without_a_method_and_HTTP_refusals_as_UNKNOWN()
    {
        // Proves made-up paths cannot become label values: an unknown method and an unknown service are reported with
        // a null method (UNIMPLEMENTED), a path differing only in case is not our method either, and a request with a
        // content type that is not gRPC (refused with HTTP 415) is reported UNKNOWN.
        fixture.CallsEnded.Clear();
        var frame = GrpcWire.Frame(new EchoRequest { Text = "x" });
        foreach (var path in new[] { "/" + EchoTestService.ServiceName + "/Nope", "/made.up.Service/Method", EchoTestService.UnaryMethod.ToUpperInvariant() })
        {
            using var response = await fixture.RawClient.SendAsync(GrpcWire.Request(path, new ByteArrayContent(frame)));
            response.Headers.GetValues("grpc-status").ShouldBe(["12"]);
        }

        using (var refused = await fixture.RawClient.SendAsync(GrpcWire.Request(EchoTestService.UnaryMethod, new ByteArrayContent(frame), contentType: "text/plain")))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        }

        var reported = await ReportedAsync(4);
        reported.Take(3).ShouldAllBe(call => call.Method == null && call.Status == StatusCode.Unimplemented);
        reported[3].Method.ShouldBe(EchoTestService.UnaryMethod);
        reported[3].Status.ShouldBe(StatusCode.Unknown);
        fixture.AssertNoErrorLogs();
    }

    /// <summary>The reports once there are <paramref name="count"/> (the last is made as the response ends); fails after 10 s or on more.</summary>
    private async Task<List<(string? Method, StatusCode Status, TimeSpan Elapsed)>> ReportedAsync(int count)
    {
        var waited = Stopwatch.StartNew();
        while (fixture.CallsEnded.Calls.Count < count)
        {
            waited.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10), $"{fixture.CallsEnded.Calls.Count} calls reported, {count} expected");
            await Task.Delay(10);
        }

        var calls = fixture.CallsEnded.Calls.ToList();
        calls.Count.ShouldBe(count);
        return calls;
    }
}
