namespace CommsCredits.Gateway.Operations;

using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Metrics;
using CommsCredits.Grpc.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

public static class OperationsServiceCollectionExtensions
{
    /// <summary>The operations listener with GET /metrics, the gateway's metrics and the transport hook that counts every gRPC request.</summary>
    public static IServiceCollection AddOperations(this IServiceCollection services, IConfiguration configuration)
    {
        ServiceRegistration.AddValidatedOptions<OperationsOptions>(services, configuration, OperationsOptions.SectionName);
        services.AddSingleton<IValidateOptions<OperationsOptions>, OperationsOptionsValidator>();
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<IRpcCallObserver, RpcMetricsObserver>();
        services.AddHostedService<HotStateGauges>();
        services.AddOperationsRoute(static (endpoints, gatewayServices) =>
        {
            var registry = gatewayServices.GetRequiredService<GatewayMetrics>().Registry;
            endpoints.MapGet("/metrics", (RequestDelegate)(context => WriteMetricsAsync(context, registry)));
        });
        services.AddSingleton<OperationsServer>();
        services.AddHostedService(provider => provider.GetRequiredService<OperationsServer>());
        return services;
    }

    private static Task WriteMetricsAsync(HttpContext context, MetricsRegistry registry)
    {
        var text = registry.Render();
        context.Response.ContentType = PrometheusText.ContentType;
        return context.Response.WriteAsync(text, context.RequestAborted);
    }
}
