namespace CommsCredits.Grpc.Server;

using CommsCredits.Grpc.Server.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

/// <summary>Maps the bound gRPC methods as endpoints.</summary>
public static class GrpcServerEndpointExtensions
{
    /// <summary>
    /// The catch-all UNIMPLEMENTED route runs after every other route, including a fallback, but before
    /// nothing: a gRPC request to an unknown path gets a gRPC answer, other requests are left alone by its
    /// content-type constraint.
    /// </summary>
    private const int UnimplementedRouteOrder = int.MaxValue - 1;

    /// <summary>
    /// Maps every method of every service added with AddGrpcService (POST "/package.Service/Method"), and a
    /// catch-all that answers UNIMPLEMENTED to gRPC requests for any other path. The returned builder applies
    /// conventions to all of them.
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcServices(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        if (services.GetService<GrpcServerMarker>() is null)
        {
            throw new InvalidOperationException("MapGrpcServices needs the gRPC server: call services.AddGrpcServer(configuration.GetSection(\"Grpc\")) first.");
        }

        var definitions = services.GetServices<GrpcServiceDefinition>().ToList();
        var runtime = new GrpcServerRuntime(
            services.GetRequiredService<IOptions<GrpcServerOptions>>().Value,
            services.GetRequiredService<ILoggerFactory>().CreateLogger(GrpcServerRuntime.LoggerCategory),
            UniqueServiceNames(definitions),
            services.GetServices<IRpcExceptionMapper>(),
            services.GetServices<IRpcCallAuthorizer>(),
            services.GetServices<IRpcCallObserver>());
        var builders = new List<IEndpointConventionBuilder>();
        var post = new HttpMethodMetadata([HttpMethods.Post]);
        foreach (var definition in definitions)
        {
            var service = services.GetRequiredService(definition.ServiceType);
            foreach (var (signature, handler) in definition.Handlers)
            {
                var method = ServerMethodFactory.Create(signature, handler, service, runtime);
                builders.Add(endpoints.Map(RoutePatternFactory.Parse(method.FullName), new RequestDelegate(method.HandleAsync))
                    .WithMetadata(post)
                    .WithDisplayName("gRPC " + method.FullName));
            }
        }

        builders.Add(MapUnimplemented(endpoints, runtime, post));
        return new CompositeEndpointConventionBuilder(builders);
    }

    private static IEndpointConventionBuilder MapUnimplemented(IEndpointRouteBuilder endpoints, GrpcServerRuntime runtime, HttpMethodMetadata post)
    {
        var pattern = RoutePatternFactory.Parse(
            "{**grpcPath}",
            defaults: null,
            parameterPolicies: new RouteValueDictionary { ["grpcPath"] = new GrpcContentTypeConstraint() });
        var handler = new UnimplementedMethodHandler(runtime);
        var builder = endpoints.Map(pattern, new RequestDelegate(handler.HandleAsync))
            .WithMetadata(post)
            .WithDisplayName("gRPC unimplemented");
        builder.Add(endpoint => ((RouteEndpointBuilder)endpoint).Order = UnimplementedRouteOrder);
        return builder;
    }

    private static List<string> UniqueServiceNames(List<GrpcServiceDefinition> definitions)
    {
        var names = new List<string>(definitions.Count);
        foreach (var definition in definitions)
        {
            var name = definition.Descriptor.FullName;
            if (names.Contains(name, StringComparer.Ordinal))
            {
                throw new InvalidOperationException($"gRPC service {name} was added more than once.");
            }

            names.Add(name);
        }

        return names;
    }
}
