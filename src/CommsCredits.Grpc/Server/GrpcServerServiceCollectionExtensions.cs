namespace CommsCredits.Grpc.Server;

using CommsCredits.Grpc.Server.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ProtoServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

/// <summary>Registers the gRPC server and the services it serves.</summary>
public static class GrpcServerServiceCollectionExtensions
{
    /// <summary>Adds the server, with <see cref="GrpcServerOptions"/> bound from the section and validated at start-up.</summary>
    public static IServiceCollection AddGrpcServer(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var sectionPath = (section as IConfigurationSection)?.Path ?? string.Empty;
        services.AddRouting();
        services.AddOptions<GrpcServerOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrpcServerOptions>>(new GrpcServerOptionsValidator(sectionPath)));
        services.TryAddSingleton<GrpcServerMarker>();
        services.TryAddSingleton(provider => new ServedServices(provider.GetServices<GrpcServiceDefinition>()));
        return services;
    }

    /// <summary>
    /// Serves a proto service with <typeparamref name="TService"/>, registered as a singleton unless it already
    /// is. Every method of the descriptor needs a public handler of the matching shape; a missing or mis-shaped
    /// one throws here, naming the method and the expected signature.
    /// </summary>
    public static IServiceCollection AddGrpcService<TService>(this IServiceCollection services, ProtoServiceDescriptor descriptor)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(descriptor);
        var definition = GrpcServiceDefinition.Create(typeof(TService), descriptor);
        services.TryAddSingleton<TService>();
        services.AddSingleton(definition);
        return services;
    }
}
