namespace CommsCredits.Tests.Credentials;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Transport.Echo;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using Xunit;

/// <summary>
/// The gateway's policy for what no service of ours exercises yet: open services, requests without tenant_id, and
/// streamed requests. The authorizer is called directly, with keys from a real gateway's database and cache.
/// </summary>
public sealed class AuthorizerPolicyTests
{
    private static readonly MethodDescriptor EchoUnary = EchoReflection.Descriptor.Services[0].FindMethodByName("Unary");
    private static readonly MethodDescriptor Reserve = ChargingReflection.Descriptor.Services[0].FindMethodByName("Reserve");

    [Fact]
    public async Task A_scoped_key_is_refused_a_method_whose_request_names_no_tenant_and_an_unscoped_key_is_not()
    {
        // Proves a scoped key cannot reach a method it cannot be checked against (no tenant_id in the request), while
        // an unscoped key of the right role can. The echo service is registered with nothing: it needs an admin key.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        var authorizer = Authorizer(gateway);
        var scoped = await gateway.CreateKeyAsync(ApiKeyRole.Admin, tenant);

        var refused = await Should.ThrowAsync<RpcException>(() => authorizer.AuthorizeCallAsync(EchoUnary, Context(scoped), new EchoRequest()).AsTask());
        refused.StatusCode.ShouldBe(StatusCode.PermissionDenied);
        refused.Status.Detail.ShouldContain("name no tenant");
        await authorizer.AuthorizeCallAsync(EchoUnary, Context(gateway.AdminKey), new EchoRequest());
        var wrongRole = await Should.ThrowAsync<RpcException>(() => authorizer.AuthorizeCallAsync(EchoUnary, Context(gateway.NetworkElementKey), new EchoRequest()).AsTask());
        wrongRole.StatusCode.ShouldBe(StatusCode.PermissionDenied);
    }

    [Fact]
    public async Task A_service_registered_as_open_needs_no_key()
    {
        // Proves the way later services (health, reflection) will be opened: AddServiceAccess(..., Open).
        var gateway = await SharedGateway.GetAsync();
        var authorizer = Authorizer(gateway, new ServiceAccessRule(EchoUnary.Service.FullName, ServiceAccess.Open));
        await authorizer.AuthorizeCallAsync(EchoUnary, Context(key: null), new EchoRequest());
        await authorizer.AuthorizeStreamMessageAsync(EchoUnary, Context(key: null), new EchoRequest(), 1);
    }

    [Fact]
    public async Task A_stream_with_a_scoped_key_must_name_the_tenant_in_its_first_message_and_no_other_tenant_later()
    {
        // Proves the per-message rule for streamed requests: the call-level check (no message yet) passes on key and
        // role; message 1 must name the key's tenant; later messages may name it or leave tenant_id empty; a later
        // message naming another tenant is refused.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        var authorizer = Authorizer(gateway, new ServiceAccessRule(Reserve.Service.FullName, ServiceAccess.NetworkElement));
        var context = Context(await gateway.CreateKeyAsync(ApiKeyRole.NetworkElement, tenant));

        await authorizer.AuthorizeCallAsync(Reserve, context, request: null);
        await authorizer.AuthorizeStreamMessageAsync(Reserve, context, new ReserveRequest { TenantId = tenant }, 1);
        await authorizer.AuthorizeStreamMessageAsync(Reserve, context, new ReserveRequest(), 2);
        await authorizer.AuthorizeStreamMessageAsync(Reserve, context, new ReserveRequest { TenantId = tenant }, 3);
        (await RefusalAsync(authorizer, context, new ReserveRequest(), 1)).StatusCode.ShouldBe(StatusCode.PermissionDenied);
        (await RefusalAsync(authorizer, context, new ReserveRequest { TenantId = "other" }, 1)).StatusCode.ShouldBe(StatusCode.PermissionDenied);
        (await RefusalAsync(authorizer, context, new ReserveRequest { TenantId = "other" }, 4)).StatusCode.ShouldBe(StatusCode.PermissionDenied);
    }

    private static Task<RpcException> RefusalAsync(ApiKeyAuthorizer authorizer, ServerCallContext context, IMessage message, long number) =>
        Should.ThrowAsync<RpcException>(() => authorizer.AuthorizeStreamMessageAsync(Reserve, context, message, number).AsTask());

    private static ApiKeyAuthorizer Authorizer(GatewayInstance gateway, params ServiceAccessRule[] rules) =>
        new(gateway.Services.GetRequiredService<ApiKeyCache>(), new ServiceAccessRules(rules));

    private static ServerCallContext Context(string? key)
    {
        var headers = new Metadata();
        if (key is not null)
        {
            headers.Add("authorization", "Bearer " + key);
        }

        return new ServerCallContext("/test/Method", "ipv4:127.0.0.1:1", deadline: null, headers, CancellationToken.None);
    }
}
