namespace CommsCredits.Gateway.Operations;

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

/// <summary>
/// The operations listener: a Kestrel server of its own, on Operations:Endpoint, serving the routes registered with
/// AddOperationsRoute (GET /metrics) over HTTP/1.1 and HTTP/2. It shares nothing with the gRPC listener but the
/// gateway's logging, so the gRPC port never serves /metrics and this one never serves gRPC.
/// </summary>
public sealed partial class OperationsServer(
    IOptions<OperationsOptions> options, IEnumerable<OperationsRoute> routes, IServiceProvider gatewayServices, ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private readonly OperationsOptions settings = options.Value;
    private WebApplication? app;

    /// <summary>Where the listener is bound once started (the real port when Operations:Endpoint asks for port 0); null when disabled.</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!settings.Enabled)
        {
            return;
        }

        var endpoint = settings.ParseEndpoint();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        // The gateway's logging, but not the host's "Now listening on:" line, which would read like the gRPC listener's.
        builder.Services.AddSingleton<ILoggerFactory>(new WithoutHostLifetime(loggerFactory));
        // The gateway's host handles SIGTERM and stops this server with everything else; this one must not react on its own.
        builder.Services.AddSingleton<IHostLifetime, GatewayOwnedLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = settings.MaxConnections;
            kestrel.Listen(endpoint, listen =>
            {
                // Both versions with TLS (ALPN negotiates HTTP/2). On cleartext Kestrel would serve HTTP/1.1 only anyway, and
                // asking it for both there makes it warn at every start that HTTP/2 is not enabled.
                listen.Protocols = settings.UsesTls ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1;
                if (settings.UsesTls)
                {
                    listen.UseHttps(settings.CertificatePath!, settings.CertificatePassword);
                }
            });
        });
        var built = builder.Build();
        foreach (var route in routes)
        {
            route.Map(built, gatewayServices);
        }

        await built.StartAsync(cancellationToken);
        app = built;
        var bound = built.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Address = new Uri(bound.Replace("[::]", IPAddress.IPv6Any.ToString(), StringComparison.Ordinal));
        LogListening(loggerFactory.CreateLogger<OperationsServer>(), Address);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (app is not null)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
            app = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Operations listener (/metrics, /healthz, /readyz) on {Address}")]
    private static partial void LogListening(ILogger logger, Uri address);

    /// <summary>The gateway's logger factory without the category of the host's lifetime messages.</summary>
    private sealed class WithoutHostLifetime(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) =>
            string.Equals(categoryName, "Microsoft.Hosting.Lifetime", StringComparison.Ordinal)
                ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance
                : inner.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        // The gateway's factory belongs to the gateway's host, which disposes it.
        public void Dispose()
        {
        }
    }

    /// <summary>A lifetime that waits for nothing and listens to no signal: the gateway's host starts and stops this server.</summary>
    private sealed class GatewayOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
