namespace CommsCredits.Tests.Transport;

using System.IO.Pipelines;
using System.Net;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Server;
using CommsCredits.Tests.Transport.Echo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

/// <summary>
/// A real Kestrel on 127.0.0.1 (a free port, HTTP/2 only, h2c) serving the echo service through our transport,
/// with the limits the tests probe. Shared by the tests of one class; its log sink lets them fail on errors.
/// </summary>
public sealed class GrpcServerFixture : IAsyncLifetime
{
    public const int MaxReceiveMessageSizeBytes = 2 * 1024 * 1024;
    public const int MaxSendMessageSizeBytes = 2 * 1024 * 1024;

    /// <summary>A request with this header gets a body whose read fails as Kestrel's does after the client's RST_STREAM.</summary>
    public const string BrokenBodyHeader = "x-test-broken-body";

    private WebApplication? app;
    private HttpClient? rawClient;
    private GrpcChannel? channel;

    public TestLogSink Logs { get; } = new();

    /// <summary>What the server's call observer was told, in order.</summary>
    public RecordingCallObserver CallsEnded { get; } = new();

    public Uri Address { get; private set; } = null!;

    public int Port => Address.Port;

    public EchoObservations Observations => app!.Services.GetRequiredService<EchoObservations>();

    /// <summary>Our client, shared like the gateway's load generator shares it.</summary>
    public GrpcChannel Channel => channel!;

    /// <summary>A plain HttpClient speaking h2c, for what our client would hide.</summary>
    public HttpClient RawClient => rawClient!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(Logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Grpc:MaxReceiveMessageSizeBytes"] = MaxReceiveMessageSizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Grpc:MaxSendMessageSizeBytes"] = MaxSendMessageSizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        builder.Services.AddGrpcServer(builder.Configuration.GetSection("Grpc"));
        builder.Services.AddSingleton<EchoObservations>();
        builder.Services.AddSingleton<IRpcCallObserver>(CallsEnded);
        builder.Services.AddSingleton<IRpcExceptionMapper, EchoDependencyDownMapper>();
        builder.Services.AddGrpcService<EchoTestService>(EchoReflection.Descriptor.Services[0]);

        app = builder.Build();
        app.Use((context, next) =>
        {
            if (context.Request.Headers.ContainsKey(BrokenBodyHeader))
            {
                context.Features.Set<IRequestBodyPipeFeature>(new BrokenRequestBody());
            }

            return next(context);
        });
        app.MapGet("/healthz", () => "ok");
        app.MapGrpcServices();
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Address = new Uri(address);
        channel = GrpcChannel.ForAddress(Address);
        rawClient = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>Fails with the unexpected error logs since the last drain; drains them either way.</summary>
    public void AssertNoErrorLogs()
    {
        var errors = Logs.Drain().Where(entry => entry.Level >= LogLevel.Error).ToList();
        if (errors.Count > 0)
        {
            throw new Xunit.Sdk.XunitException("unexpected error logs:\n" + string.Join("\n", errors));
        }
    }

    public async Task DisposeAsync()
    {
        channel?.Dispose();
        rawClient?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private sealed class BrokenRequestBody : IRequestBodyPipeFeature
    {
        public BrokenRequestBody()
        {
            var pipe = new Pipe();
            pipe.Writer.Complete(new IOException("The client reset the request stream."));
            Reader = pipe.Reader;
        }

        public PipeReader Reader { get; }
    }
}
