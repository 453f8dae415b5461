namespace CommsCredits.Tests.Transport;

using System.Net;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using CommsCredits.Tests.Transport.Echo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shouldly;
using Xunit;

/// <summary>Start-up checks: a service must match its proto, options must be sane, HTTP/2 is required.</summary>
public sealed class ServerStartupTests
{
    private static Google.Protobuf.Reflection.ServiceDescriptor EchoDescriptor => EchoReflection.Descriptor.Services[0];

    [Fact]
    public void Missing_handler_fails_registration_naming_the_method()
    {
        // Proves a service class lacking a handler is refused at start-up with the method and expected signature.
        var exception = Should.Throw<InvalidOperationException>(() => new ServiceCollection().AddGrpcService<MissingBidiService>(EchoDescriptor));

        exception.Message.ShouldContain("has no handler for method Bidi");
        exception.Message.ShouldContain("/commscredits.testing.v1.EchoService/Bidi");
        exception.Message.ShouldContain("public Task Bidi(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)");
    }

    [Fact]
    public void Mis_shaped_handler_fails_registration_naming_the_method()
    {
        // Proves a handler with the right name but the wrong signature is refused, not bound and failed per call.
        var exception = Should.Throw<InvalidOperationException>(() => new ServiceCollection().AddGrpcService<WrongUnaryService>(EchoDescriptor));

        exception.Message.ShouldContain("wrong signature for method Unary");
        exception.Message.ShouldContain("public Task<EchoResponse> Unary(EchoRequest request, ServerCallContext context)");
    }

    [Theory]
    [InlineData("MaxReceiveMessageSizeBytes", "0")]
    [InlineData("MaxSendMessageSizeBytes", "-5")]
    [InlineData("MaxReceiveMessageSizeBytes", "1073741824")]
    public void Out_of_range_options_fail_naming_the_setting(string setting, string value)
    {
        // Proves options are validated and the error names the configuration key to fix.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>(StringComparer.Ordinal) { ["Grpc:" + setting] = value })
            .Build();
        using var provider = new ServiceCollection().AddGrpcServer(configuration.GetSection("Grpc")).BuildServiceProvider();

        var exception = Should.Throw<OptionsValidationException>(() => provider.GetRequiredService<IOptions<GrpcServerOptions>>().Value);
        exception.Message.ShouldContain("Grpc:" + setting + " must be between 1 and");
    }

    [Fact]
    public async Task Invalid_options_stop_the_host_at_start()
    {
        // Proves ValidateOnStart: a bad setting stops the application before it serves anything.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(StringComparer.Ordinal) { ["Grpc:MaxSendMessageSizeBytes"] = "0" });
        builder.Services.AddGrpcServer(builder.Configuration.GetSection("Grpc"));
        await using var app = builder.Build();

        (await Should.ThrowAsync<OptionsValidationException>(() => app.StartAsync())).Message.ShouldContain("Grpc:MaxSendMessageSizeBytes");
    }

    [Fact]
    public void Mapping_without_the_server_fails_clearly()
    {
        // Proves MapGrpcServices without AddGrpcServer says what to add instead of failing obscurely later.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        using var app = (IDisposable)builder.Build();

        Should.Throw<InvalidOperationException>(() => ((WebApplication)app).MapGrpcServices()).Message.ShouldContain("AddGrpcServer");
    }

    [Fact]
    public async Task Http1_request_is_refused_with_505()
    {
        // Proves a gRPC request over HTTP/1.1 gets HTTP 505: gRPC needs HTTP/2 for trailers and full duplex.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http1));
        builder.Services.AddGrpcServer(builder.Configuration.GetSection("Grpc"));
        builder.Services.AddSingleton<EchoObservations>();
        builder.Services.AddGrpcService<EchoTestService>(EchoDescriptor);
        await using var app = builder.Build();
        app.MapGrpcServices();
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = address };

        using var request = GrpcWire.Request(EchoTestService.UnaryMethod, GrpcWire.Frame(new EchoRequest()));
        request.Version = HttpVersion.Version11;
        using var response = await client.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.HttpVersionNotSupported);
        await app.StopAsync();
    }

    // Handlers are instance methods by contract (they are bound to the registered singleton), even when, as in
    // these stand-ins, they use no instance data.
#pragma warning disable CA1822

    /// <summary>Serves three of the four echo methods.</summary>
    public sealed class MissingBidiService
    {
        public Task<EchoResponse> Unary(EchoRequest request, ServerCallContext context) => Task.FromResult(new EchoResponse { Peer = context.Peer });

        public Task ServerStream(EchoRequest request, IServerStreamWriter<EchoResponse> responses, ServerCallContext context) => Task.CompletedTask;

        public Task<EchoResponse> ClientStream(IAsyncStreamReader<EchoRequest> requests, ServerCallContext context) => Task.FromResult(new EchoResponse());
    }

    /// <summary>Unary handler returning ValueTask instead of Task.</summary>
    public sealed class WrongUnaryService
    {
        public ValueTask<EchoResponse> Unary(EchoRequest request, ServerCallContext context) => ValueTask.FromResult(new EchoResponse { Peer = context.Peer });
    }
#pragma warning restore CA1822
}
