namespace CommsCredits.Gateway.Operations;

using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

/// <summary>
/// A route of the operations listener: maps its endpoints on the listener's router. <c>gatewayServices</c> is the
/// gateway's own container (the listener has a small one of its own). Add one with
/// <c>services.AddOperationsRoute((endpoints, gatewayServices) => endpoints.MapGet("/healthz", ...))</c>.
/// </summary>
public sealed record OperationsRoute(Action<IEndpointRouteBuilder, IServiceProvider> Map);

public static class OperationsRouteServiceCollectionExtensions
{
    public static IServiceCollection AddOperationsRoute(this IServiceCollection services, Action<IEndpointRouteBuilder, IServiceProvider> map)
    {
        services.AddSingleton(new OperationsRoute(map));
        return services;
    }
}
