namespace CommsCredits.Gateway.Credentials;

using System.Collections.Concurrent;
using System.Collections.Frozen;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.DependencyInjection;
using ProtoServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

/// <summary>Who may call a gRPC service.</summary>
public enum ServiceAccess
{
    /// <summary>Anyone, without a key: for services such as health checks.</summary>
    Open,

    /// <summary>A network-element key.</summary>
    NetworkElement,

    /// <summary>An admin key. Every service not registered otherwise needs one.</summary>
    Admin,
}

/// <summary>The access a service was registered with (see <see cref="ServiceAccessRegistration.AddServiceAccess"/>).</summary>
public sealed record ServiceAccessRule(string ServiceName, ServiceAccess Access);

/// <summary>What the authorizer knows about one method: who may call it and where its request names a tenant.</summary>
public sealed record MethodAccess(string ServiceName, ServiceAccess Access, FieldDescriptor? TenantIdField);

/// <summary>Registers how a gRPC service is protected; services registered with nothing need an admin key.</summary>
public static class ServiceAccessRegistration
{
    public static IServiceCollection AddServiceAccess(this IServiceCollection services, ProtoServiceDescriptor service, ServiceAccess access)
    {
        ArgumentNullException.ThrowIfNull(service);
        return services.AddSingleton(new ServiceAccessRule(service.FullName, access));
    }
}

/// <summary>
/// The registered rules, and per method (worked out once) the access it needs and its request's tenant_id field: a
/// top-level string field of that name, which every request of ours that concerns one tenant has.
/// </summary>
public sealed class ServiceAccessRules
{
    public const string TenantIdFieldName = "tenant_id";

    private readonly FrozenDictionary<string, ServiceAccess> byService;

    /// <summary>Bounded by the methods of the bound services: descriptors are created once, at start-up.</summary>
    private readonly ConcurrentDictionary<MethodDescriptor, MethodAccess> byMethod = new();

    public ServiceAccessRules(IEnumerable<ServiceAccessRule> rules)
    {
        var access = new Dictionary<string, ServiceAccess>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            if (access.TryGetValue(rule.ServiceName, out var existing) && existing != rule.Access)
            {
                throw new InvalidOperationException($"gRPC service {rule.ServiceName} was registered both as {existing} and as {rule.Access}");
            }

            access[rule.ServiceName] = rule.Access;
        }

        byService = access.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public MethodAccess For(MethodDescriptor method) =>
        byMethod.TryGetValue(method, out var access) ? access : byMethod.GetOrAdd(method, Describe(method));

    private MethodAccess Describe(MethodDescriptor method)
    {
        var service = method.Service.FullName;
        var field = method.InputType.FindFieldByName(TenantIdFieldName);
        var tenantField = field is { FieldType: FieldType.String, IsRepeated: false } ? field : null;
        return new MethodAccess(service, byService.GetValueOrDefault(service, ServiceAccess.Admin), tenantField);
    }
}
