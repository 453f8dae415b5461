namespace CommsCredits.Tests.Transport;

using System.Diagnostics;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Transport.Echo;
using Microsoft.Extensions.Logging;
using Shouldly;
using Xunit;

/// <summary>Deadlines and cancellation: the server ends calls on time and tells handlers through their token.</summary>
public sealed class DeadlineAndCancellationTests(GrpcServerFixture server) : IClassFixture<GrpcServerFixture>, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Server_answers_DEADLINE_EXCEEDED_on_time_even_if_the_handler_ignores_its_token()
    {
        // Proves the server itself ends the call at the deadline (a raw client enforces nothing locally), while
        // the handler that ignores its token keeps running, is cancelled, and finishes later without harm.
        var callId = Guid.NewGuid().ToString();
        var request = new EchoRequest { DelayMs = 3000, ObserveCancellation = false, CallId = callId };
        var stopwatch = Stopwatch.StartNew();
        var response = await GrpcWire.SendAsync(
            server.RawClient,
            GrpcWire.Request(EchoTestService.UnaryMethod, GrpcWire.Frame(request), headers: ("grpc-timeout", "200m")));
        stopwatch.Stop();

        response.GrpcStatus.ShouldBe("4");
        response.IsTrailersOnly.ShouldBeTrue();
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromMilliseconds(1500));
        var observation = server.Observations.For(callId);
        await observation.TokenCancelled.Task.WaitAsync(Bound);
        observation.Finished.Task.IsCompleted.ShouldBeFalse();
        await observation.Finished.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task Handler_observing_its_token_is_cancelled_at_the_deadline()
    {
        // Proves the handler's CancellationToken fires at the deadline and its cancellation maps to DEADLINE_EXCEEDED.
        var callId = Guid.NewGuid().ToString();
        var exception = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { DelayMs = 10_000, ObserveCancellation = true, CallId = callId },
            new CallOptions(Deadline: DateTime.UtcNow.AddMilliseconds(200))));

        exception.StatusCode.ShouldBe(StatusCode.DeadlineExceeded);
        await server.Observations.For(callId).GaveUp.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task Our_client_fails_with_DEADLINE_EXCEEDED_within_a_bounded_time()
    {
        // Proves our client reports DEADLINE_EXCEEDED promptly after its deadline, whatever the handler does.
        var stopwatch = Stopwatch.StartNew();
        var exception = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { DelayMs = 3000 },
            new CallOptions(Deadline: DateTime.UtcNow.AddMilliseconds(150))));

        exception.StatusCode.ShouldBe(StatusCode.DeadlineExceeded);
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromMilliseconds(1500));
    }

    [Fact]
    public async Task Expired_deadline_fails_locally_without_calling_the_server()
    {
        // Proves a call whose deadline already passed fails with DEADLINE_EXCEEDED and never reaches a handler.
        var callId = Guid.NewGuid().ToString();
        var exception = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { CallId = callId },
            new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(-1))));

        exception.StatusCode.ShouldBe(StatusCode.DeadlineExceeded);
        server.Observations.For(callId).Started.Task.IsCompleted.ShouldBeFalse();
    }

    [Fact]
    public async Task Zero_timeout_is_DEADLINE_EXCEEDED_before_the_handler_runs()
    {
        // Proves grpc-timeout 0 is already expired: the server answers at once and does not start the handler.
        var callId = Guid.NewGuid().ToString();
        var response = await GrpcWire.SendAsync(
            server.RawClient,
            GrpcWire.Request(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest { CallId = callId }), headers: ("grpc-timeout", "0m")));

        response.GrpcStatus.ShouldBe("4");
        server.Observations.For(callId).Started.Task.IsCompleted.ShouldBeFalse();
    }

    [Fact]
    public async Task Client_cancellation_cancels_the_handler()
    {
        // Proves cancelling a call on the client (RST_STREAM) cancels the handler's token, and the client sees CANCELLED.
        var callId = Guid.NewGuid().ToString();
        using var cancellation = new CancellationTokenSource();
        var call = server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod,
            new EchoRequest { DelayMs = 10_000, ObserveCancellation = true, CallId = callId },
            new CallOptions(CancellationToken: cancellation.Token));
        var observation = server.Observations.For(callId);
        await observation.Started.Task.WaitAsync(Bound);
        await cancellation.CancelAsync();

        (await Should.ThrowAsync<RpcException>(() => call)).StatusCode.ShouldBe(StatusCode.Cancelled);
        await observation.TokenCancelled.Task.WaitAsync(Bound);
        await observation.GaveUp.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task Abandoned_handler_that_fails_later_is_logged()
    {
        // Proves a handler that outlives its deadline and then throws is observed and logged at Error with its
        // method, in the scope the handler named its call with, rather than becoming an unobserved task exception.
        var response = await GrpcWire.SendAsync(
            server.RawClient,
            GrpcWire.Request(
                EchoTestService.UnaryMethod,
                GrpcWire.Frame(new EchoRequest { Text = "late-call", DelayMs = 400, ThrowMessage = "late failure" }),
                headers: ("grpc-timeout", "100m")));

        response.GrpcStatus.ShouldBe("4");
        var entry = await server.Logs.WaitForAsync(log => log.EventId.Id == 2, Bound);
        entry.Level.ShouldBe(LogLevel.Error);
        entry.Message.ShouldContain(EchoTestService.UnaryMethod);
        entry.Exception!.Message.ShouldBe("late failure");
        entry.Scopes[^1].ShouldBe("echo:late-call");
        server.Logs.Drain();
    }

    [Fact]
    public async Task Deadline_ends_a_server_stream_with_DEADLINE_EXCEEDED_in_the_trailers()
    {
        // Proves a stream cut by its deadline keeps the messages already sent and ends with DEADLINE_EXCEEDED
        // in real trailers (the response had started), even though the handler ignores its token.
        var request = new EchoRequest { ResponseCount = 10, DelayMs = 150, ObserveCancellation = false, Text = "tick" };
        var response = await GrpcWire.SendAsync(
            server.RawClient,
            GrpcWire.Request(EchoTestService.ServerStreamMethod, GrpcWire.Frame(request), headers: ("grpc-timeout", "500m")));

        response.Trailers["grpc-status"].ShouldBe("4");
        GrpcWire.Messages(response.Body).Count.ShouldBeInRange(1, 4);
    }

    [Fact]
    public async Task Deadline_ends_a_stream_whose_handler_ignores_its_token_before_writing()
    {
        // Proves a streaming handler stuck before its first write (ignoring its token) is abandoned at the
        // deadline: the client gets DEADLINE_EXCEEDED as Trailers-Only, on time.
        var stopwatch = Stopwatch.StartNew();
        var request = new EchoRequest { ResponseCount = 1, DelayMs = 3000, ObserveCancellation = false };
        var response = await GrpcWire.SendAsync(
            server.RawClient,
            GrpcWire.Request(EchoTestService.ServerStreamMethod, GrpcWire.Frame(request), headers: ("grpc-timeout", "200m")));

        response.GrpcStatus.ShouldBe("4");
        response.IsTrailersOnly.ShouldBeTrue();
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromMilliseconds(1500));
    }

    public void Dispose() => server.AssertNoErrorLogs();
}
