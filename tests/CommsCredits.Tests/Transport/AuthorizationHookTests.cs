namespace CommsCredits.Tests.Transport;

using System.Collections.Concurrent;
using System.Net;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using CommsCredits.Tests.Transport.Echo;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shouldly;
using Xunit;

/// <summary>The IRpcCallAuthorizer hook: what it sees, and that its refusal is the call's status and stops the handler.</summary>
public sealed class AuthorizationHookTests(AuthorizationHookTests.Server server) : IClassFixture<AuthorizationHookTests.Server>, IDisposable
{
    private const string Token = "let-me-in";

    [Fact]
    public async Task A_unary_call_is_authorized_with_its_method_metadata_and_request_before_the_handler_runs()
    {
        // Proves the hook runs for a unary call with the service and method names, the request metadata and the
        // request message, and that an allowed call (here through the hook's asynchronous path) reaches the handler.
        var text = Unique("allowed");
        var response = await server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod, new EchoRequest { Text = text }, Headers(("auth-token", Token), ("auth-async", "yes")));

        response.Text.ShouldBe(text);
        var seen = server.Authorizer.Calls.Single(call => string.Equals(call.RequestText, text, StringComparison.Ordinal));
        seen.Service.ShouldBe(EchoTestService.ServiceName);
        seen.Method.ShouldBe("Unary");
        seen.Token.ShouldBe(Token);
        server.WasHandled(text).ShouldBeTrue();
    }

    [Fact]
    public async Task A_refused_unary_call_gets_the_refusal_status_and_the_handler_never_runs()
    {
        // Proves an RpcException from the hook is the call's status (code and message) and the handler is not called.
        var text = Unique("refused");
        var refused = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod, new EchoRequest { Text = text }));

        refused.StatusCode.ShouldBe(StatusCode.Unauthenticated);
        refused.Status.Detail.ShouldBe("no token");
        server.Authorizer.Calls.ShouldContain(call => string.Equals(call.RequestText, text, StringComparison.Ordinal));
        server.WasHandled(text).ShouldBeFalse();
    }

    [Fact]
    public async Task A_server_streaming_call_is_authorized_with_its_request_message()
    {
        // Proves the hook sees the request of a server-streaming call and can refuse it by its content.
        var text = Unique("forbidden");
        using var call = server.Channel.ServerStreaming<EchoRequest, EchoResponse>(
            EchoTestService.ServerStreamMethod, new EchoRequest { Text = text, ResponseCount = 3 }, Headers(("auth-token", Token)));
        var refused = await Should.ThrowAsync<RpcException>(async () =>
        {
            await foreach (var response in call)
            {
                response.ShouldBeNull("no response may be sent for a refused call");
            }
        });

        refused.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        server.Authorizer.Calls.Single(seen => string.Equals(seen.RequestText, text, StringComparison.Ordinal)).Method.ShouldBe("ServerStream");
        server.WasHandled(text).ShouldBeFalse();
    }

    [Fact]
    public async Task A_client_stream_is_authorized_on_its_metadata_then_message_by_message()
    {
        // Proves the client-streaming path: the call-level check sees no message, every message is checked before
        // the handler gets it, and a refused message is the call's status even though this handler swallows the
        // refusal and answers: the refused message and the ones after it never reach the handler.
        var first = Unique("first");
        var response = await SendStreamAsync(EchoTestService.ClientStreamMethod, first, Unique("forbidden"), Unique("after"));

        response.GrpcStatus.ShouldBe(((int)StatusCode.PermissionDenied).ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.Body.ShouldBeEmpty();
        server.Authorizer.Calls.ShouldContain(call => string.Equals(call.Method, "ClientStream", StringComparison.Ordinal) && call.RequestText == null && string.Equals(call.Token, Token, StringComparison.Ordinal));
        server.Authorizer.StreamMessages.ShouldContain((first, 1L));
        server.WasHandled(first).ShouldBeTrue();
        server.Handled.ShouldNotContain(text => text.StartsWith("forbidden", StringComparison.Ordinal) || text.StartsWith("after", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_malformed_stream_message_is_the_calls_status_even_when_the_handler_swallows_it()
    {
        // Proves a request stream fails for good on a message that does not parse, like on a refused one: this
        // handler catches the error and answers, yet the client gets INTERNAL, not OK with a partial count, and the
        // message after the bad one never reaches the handler.
        var first = Unique("first");
        var after = Unique("after");
        var content = new DuplexContent();
        await content.SendAsync(GrpcWire.Frame(new EchoRequest { Text = first }));
        await content.SendAsync(GrpcWire.Frame([0xFF, 0xFF, 0xFF], compressedFlag: 0));
        await content.SendAsync(GrpcWire.Frame(new EchoRequest { Text = after }));
        content.Complete();

        var response = await GrpcWire.SendAsync(server.RawClient, GrpcWire.Request(EchoTestService.ClientStreamMethod, content, headers: ("auth-token", Token)));

        string.Equals(response.GrpcStatus, "0", StringComparison.Ordinal).ShouldBeFalse(response.GrpcMessage);
        response.Body.ShouldBeEmpty();
        server.WasHandled(first).ShouldBeTrue();
        server.WasHandled(after).ShouldBeFalse();
    }

    [Fact]
    public async Task A_bidirectional_stream_stops_at_the_refused_message()
    {
        // Proves the bidirectional path: messages before the refusal are handled, the refused one is not, and the
        // refusal is the status.
        var first = Unique("first");
        var response = await SendStreamAsync(EchoTestService.BidiMethod, first, Unique("forbidden"));

        response.GrpcStatus.ShouldBe(((int)StatusCode.PermissionDenied).ToString(System.Globalization.CultureInfo.InvariantCulture));
        GrpcWire.Messages(response.Body).Select(message => EchoResponse.Parser.ParseFrom(message).Text).ShouldBe([first]);
        server.Handled.ShouldNotContain(text => text.StartsWith("forbidden", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_without_the_metadata_the_hook_wants_is_refused_before_its_handler_starts()
    {
        // Proves the call-level check of a streaming call runs before the handler: no message is read or handled.
        var text = Unique("unseen");
        var content = new DuplexContent();
        await content.SendAsync(GrpcWire.Frame(new EchoRequest { Text = text }));
        content.Complete();
        var response = await GrpcWire.SendAsync(server.RawClient, GrpcWire.Request(EchoTestService.ClientStreamMethod, content));

        response.GrpcStatus.ShouldBe(((int)StatusCode.Unauthenticated).ToString(System.Globalization.CultureInfo.InvariantCulture));
        server.Authorizer.StreamMessages.ShouldNotContain(seen => string.Equals(seen.Text, text, StringComparison.Ordinal));
        server.WasHandled(text).ShouldBeFalse();
    }

    [Fact]
    public async Task A_hook_that_fails_unexpectedly_is_UNKNOWN_and_logged_like_a_failing_handler()
    {
        // Proves an exception other than RpcException from the hook is not sent to the client and is logged.
        var text = Unique("broken");
        var failed = await Should.ThrowAsync<RpcException>(() => server.Channel.UnaryAsync<EchoRequest, EchoResponse>(
            EchoTestService.UnaryMethod, new EchoRequest { Text = text }, Headers(("auth-token", Token), ("auth-throw", "yes"))));

        failed.StatusCode.ShouldBe(StatusCode.Unknown);
        failed.Status.Detail.ShouldNotContain("authorizer bug");
        server.Logs.Drain().ShouldContain(entry => entry.Level == LogLevel.Error && entry.Exception is InvalidOperationException);
        server.WasHandled(text).ShouldBeFalse();
    }

    public void Dispose()
    {
        var errors = server.Logs.Drain().Where(entry => entry.Level >= LogLevel.Error).ToList();
        errors.ShouldBeEmpty();
    }

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N");

    private static CallOptions Headers(params (string Key, string Value)[] entries)
    {
        var metadata = new Metadata();
        foreach (var (key, value) in entries)
        {
            metadata.Add(key, value);
        }

        return new CallOptions(Headers: metadata, Deadline: DateTime.UtcNow.AddSeconds(10));
    }

    private async Task<RawResponse> SendStreamAsync(string method, params string[] texts)
    {
        var content = new DuplexContent();
        foreach (var text in texts)
        {
            await content.SendAsync(GrpcWire.Frame(new EchoRequest { Text = text }));
        }

        content.Complete();
        return await GrpcWire.SendAsync(server.RawClient, GrpcWire.Request(method, content, headers: ("auth-token", Token)));
    }

    /// <summary>
    /// The test hook: a call needs metadata auth-token: let-me-in; a request or stream message whose text starts with
    /// "forbidden" is PERMISSION_DENIED; auth-async makes the check complete asynchronously; auth-throw makes it fail
    /// with an ordinary exception. It records what it saw.
    /// </summary>
    public sealed class RecordingAuthorizer : IRpcCallAuthorizer
    {
        public ConcurrentQueue<(string Service, string Method, string? Token, string? RequestText)> Calls { get; } = new();

        public ConcurrentQueue<(string Text, long Number)> StreamMessages { get; } = new();

        public async ValueTask AuthorizeCallAsync(MethodDescriptor method, ServerCallContext context, IMessage? request)
        {
            var token = context.RequestHeaders.GetValue("auth-token");
            Calls.Enqueue((method.Service.FullName, method.Name, token, (request as EchoRequest)?.Text));
            if (context.RequestHeaders.GetValue("auth-async") is not null)
            {
                await Task.Delay(10, context.CancellationToken);
            }

            if (context.RequestHeaders.GetValue("auth-throw") is not null)
            {
                throw new InvalidOperationException("authorizer bug");
            }

            if (!string.Equals(token, Token, StringComparison.Ordinal))
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, "no token"));
            }

            RefuseForbidden(request);
        }

        public ValueTask AuthorizeStreamMessageAsync(MethodDescriptor method, ServerCallContext context, IMessage request, long messageNumber)
        {
            StreamMessages.Enqueue((((EchoRequest)request).Text, messageNumber));
            RefuseForbidden(request);
            return ValueTask.CompletedTask;
        }

        private static void RefuseForbidden(IMessage? request)
        {
            if (request is EchoRequest { Text: var text } && text.StartsWith("forbidden", StringComparison.Ordinal))
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, "forbidden text"));
            }
        }
    }

    /// <summary>The echo service again, recording what its handlers received; its client-stream handler swallows errors.</summary>
    public sealed class GuardedEchoService(ConcurrentBag<string> handled)
    {
        public Task<EchoResponse> Unary(EchoRequest request, ServerCallContext context)
        {
            handled.Add(request.Text);
            return Task.FromResult(new EchoResponse { Text = request.Text });
        }

        public async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
        {
            handled.Add(request.Text);
            await responses.WriteAsync(new EchoResponse { Text = request.Text }, context.CancellationToken);
        }

        public async Task<EchoResponse> ClientStream(IAsyncStreamReader<EchoRequest> requests, ServerCallContext context)
        {
            var count = 0;
            try
            {
                while (await requests.MoveNext(context.CancellationToken))
                {
                    handled.Add(requests.Current.Text);
                    count++;
                }
            }
            catch (RpcException)
            {
                // Deliberately swallowed: the transport must still answer with the refusal.
            }

            return new EchoResponse { Index = count };
        }

        public async Task Bidi(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
        {
            while (await requests.MoveNext(context.CancellationToken))
            {
                handled.Add(requests.Current.Text);
                await responses.WriteAsync(new EchoResponse { Text = requests.Current.Text }, context.CancellationToken);
            }
        }
    }

    /// <summary>A Kestrel on loopback serving <see cref="GuardedEchoService"/> behind <see cref="RecordingAuthorizer"/>.</summary>
    public sealed class Server : IAsyncLifetime
    {
        private WebApplication? app;

        public RecordingAuthorizer Authorizer { get; } = new();

        public ConcurrentBag<string> Handled { get; } = [];

        public bool WasHandled(string text) => Handled.Contains(text, StringComparer.Ordinal);

        public TestLogSink Logs { get; } = new();

        public GrpcChannel Channel { get; private set; } = null!;

        public HttpClient RawClient { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(Logs);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpcServer(builder.Configuration.GetSection("Grpc"));
            builder.Services.AddSingleton<IRpcCallAuthorizer>(Authorizer);
            builder.Services.AddSingleton(new GuardedEchoService(Handled));
            builder.Services.AddGrpcService<GuardedEchoService>(EchoReflection.Descriptor.Services[0]);
            app = builder.Build();
            app.MapGrpcServices();
            await app.StartAsync();

            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            Channel = GrpcChannel.ForAddress(address);
            RawClient = new HttpClient(new SocketsHttpHandler { UseProxy = false })
            {
                BaseAddress = address,
                DefaultRequestVersion = HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Timeout = TimeSpan.FromSeconds(30),
            };
        }

        public async Task DisposeAsync()
        {
            Channel.Dispose();
            RawClient.Dispose();
            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
    }
}
