namespace CommsCredits.Gateway.Hosting;

using System.Net;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Api;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Gateway.BalanceWatch;
using CommsCredits.Gateway.Health;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Operations;
using CommsCredits.Gateway.Reconciliation;
using CommsCredits.Gateway.Reflection;
using CommsCredits.Gateway.Storage;
using CommsCredits.Grpc.Server;
using global::Grpc.Health.V1;
using ProtoServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

/// <summary>The gateway process: the charging core behind a gRPC listener on Kestrel's HTTP/2.</summary>
public static class GatewayApplication
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = GatewayConfiguration.ContentRoot });
        GatewayConfiguration.AddGatewaySources(builder.Configuration, args);
        // The slim builder's console logger is set to the simple formatter in code, over what the configuration says;
        // binding Logging:Console again after it lets the configuration choose (json by default, in appsettings.json).
        builder.Services.Configure<ConsoleLoggerOptions>(builder.Configuration.GetSection("Logging:Console"));
        configure?.Invoke(builder);
        var server = GatewayConfiguration.Read<ServerOptions>(builder.Configuration, ServerOptions.SectionName);
        Uri endpoint;
        try
        {
            endpoint = server.EndpointUri();
        }
        catch (InvalidOperationException exception)
        {
            throw new ConfigurationErrorException(exception.Message, exception);
        }

        builder.Services.AddChargingCore(builder.Configuration);
        if (builder.Configuration.GetValue<bool>(ReconciliationOptions.SectionName + ":" + nameof(ReconciliationOptions.ScheduleInServe)))
        {
            builder.Services.AddReconciliationJob();
        }

        ServiceRegistration.AddValidatedOptions<ServerOptions>(builder.Services, builder.Configuration, ServerOptions.SectionName);
        builder.Services.AddGrpcServer(builder.Configuration.GetSection("Grpc"));
        builder.Services.AddOperations(builder.Configuration);
        builder.Services.AddSingleton<IRpcExceptionMapper, StorageExceptionMapper>();
        builder.Services.AddSingleton<ServiceAccessRules>();
        builder.Services.AddSingleton<IRpcCallAuthorizer, ApiKeyAuthorizer>();
        var charging = Service(ChargingReflection.Descriptor, "Charging");
        builder.Services.AddGrpcService<ChargingService>(charging);
        builder.Services.AddServiceAccess(charging, ServiceAccess.NetworkElement);
        // Every other service needs an admin key unless it is registered otherwise (AddServiceAccess).
        builder.Services.AddGrpcService<AccountsService>(Service(AccountsReflection.Descriptor, "Accounts"));
        builder.Services.AddGrpcService<DirectoryService>(Service(DirectoryReflection.Descriptor, "Directory"));
        builder.Services.AddGrpcService<NotificationsService>(Service(NotificationsReflection.Descriptor, "Notifications"));
        builder.Services.AddGrpcService<ReportsService>(Service(ReportsReflection.Descriptor, "Reports"));
        ServiceRegistration.AddValidatedOptions<BalanceWatchOptions>(builder.Services, builder.Configuration, BalanceWatchOptions.SectionName);
        builder.Services.AddSingleton<BalanceWatchHub>();
        builder.Services.AddGrpcService<BalancesService>(Service(BalancesReflection.Descriptor, "Balances"));
        AddHealthAndReflection(builder);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(server.ShutdownTimeoutSeconds));
        builder.WebHost.ConfigureKestrel(kestrel => ConfigureKestrel(kestrel, server, endpoint));

        var app = builder.Build();
        GatewayConfiguration.ValidateNow(app.Services);
        app.MapGrpcServices();
        return app;
    }

    /// <summary>Applies migrations (unless Storage:MigrateOnStart is false), then serves until stopped.</summary>
    public static async Task RunAsync(WebApplication app, CancellationToken cancellationToken)
    {
        await MigrateAsync(app.Services, cancellationToken);
        await app.RunAsync();
    }

    /// <summary>
    /// Applies pending migrations unless Storage:MigrateOnStart is false, then creates the ledger's monthly partitions ahead
    /// (Ledger:PartitionMonthsAhead), so that they exist before the first request; LedgerPartitionMaintenance goes on.
    /// </summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        if (services.GetRequiredService<IOptions<StorageOptions>>().Value.MigrateOnStart)
        {
            await services.GetRequiredService<SchemaMigrator>().ApplyAsync(cancellationToken);
            await services.GetRequiredService<LedgerPartitions>().EnsureAheadAsync(cancellationToken);
        }
    }

    /// <summary>grpc.health.v1.Health and grpc.reflection.v1.ServerReflection, open to callers without a key (probes, grpcurl).</summary>
    private static void AddHealthAndReflection(WebApplicationBuilder builder)
    {
        ServiceRegistration.AddValidatedOptions<HealthOptions>(builder.Services, builder.Configuration, HealthOptions.SectionName);
        builder.Services.AddSingleton<StorageHealth>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<StorageHealth>());
        builder.Services.AddOperationsRoute(static (endpoints, gatewayServices) =>
        {
            var storageHealth = gatewayServices.GetRequiredService<StorageHealth>();
            endpoints.MapGet("/healthz", (RequestDelegate)(context => WriteTextAsync(context, StatusCodes.Status200OK, "alive")));
            endpoints.MapGet("/readyz", (RequestDelegate)(context =>
            {
                // One report read once: the status and its reason must agree.
                var report = storageHealth.Current;
                return report.Serving
                    ? WriteTextAsync(context, StatusCodes.Status200OK, "ready")
                    : WriteTextAsync(context, StatusCodes.Status503ServiceUnavailable, report.Reason);
            }));
        });
        var health = Service(HealthReflection.Descriptor, "Health");
        builder.Services.AddGrpcService<HealthService>(health);
        builder.Services.AddServiceAccess(health, ServiceAccess.Open);
        var reflection = Service(global::Grpc.Reflection.V1.ReflectionReflection.Descriptor, "ServerReflection");
        builder.Services.AddGrpcService<ReflectionService>(reflection);
        builder.Services.AddServiceAccess(reflection, ServiceAccess.Open);
    }

    /// <summary>A plain-text answer of the operations listener: the process is alive, ready, or why it is not ready.</summary>
    private static Task WriteTextAsync(HttpContext context, int statusCode, string text)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }

    private static ProtoServiceDescriptor Service(FileDescriptor file, string name) =>
        file.Services.FirstOrDefault(service => string.Equals(service.Name, name, StringComparison.Ordinal))
        ?? throw new InvalidOperationException($"{file.Name} has no service {name}");

    private static void ConfigureKestrel(KestrelServerOptions kestrel, ServerOptions server, Uri endpoint)
    {
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxConcurrentConnections = server.MaxConnections;
        kestrel.Limits.MaxRequestHeadersTotalSize = server.MaxRequestHeadersBytes;
        kestrel.Limits.Http2.MaxStreamsPerConnection = server.MaxStreamsPerConnection;
        kestrel.Limits.Http2.MaxRequestHeaderFieldSize = server.MaxRequestHeadersBytes;
        kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(server.KeepAlivePingDelaySeconds);
        kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(server.KeepAlivePingTimeoutSeconds);

        void Listen(ListenOptions listen)
        {
            // gRPC is HTTP/2 only: cleartext with prior knowledge (h2c), or TLS with ALPN "h2".
            listen.Protocols = HttpProtocols.Http2;
            if (string.Equals(endpoint.Scheme, "https", StringComparison.Ordinal))
            {
                listen.UseHttps(server.CertificatePath!, server.CertificatePassword);
            }
        }

        var host = endpoint.Host;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(endpoint.Port, Listen);
        }
        else if (host is "0.0.0.0" or "*" or "[::]")
        {
            kestrel.ListenAnyIP(endpoint.Port, Listen);
        }
        else if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
        {
            kestrel.Listen(address, endpoint.Port, Listen);
        }
        else
        {
            throw new InvalidOperationException($"Server:Endpoint host must be an IP address, localhost or 0.0.0.0 (got '{host}')");
        }
    }
}
