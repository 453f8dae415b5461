namespace CommsCredits.Gateway.Credentials;

using System.Security.Cryptography;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using Google.Protobuf;
using Google.Protobuf.Reflection;

/// <summary>
/// Every call needs an API key in "authorization: Bearer &lt;key&gt;" (except services registered as open): a
/// missing, malformed, unknown, revoked or wrong key is UNAUTHENTICATED; a key of the wrong role, or one scoped to
/// another tenant than the request's tenant_id, is PERMISSION_DENIED. Nothing here logs or echoes a key.
/// </summary>
/// <remarks>
/// Client-streaming and bidirectional calls are checked on their metadata before the handler runs (key and role;
/// a scoped key needs a request type with tenant_id), then message by message: the first message must name the key's
/// tenant, later ones that tenant or none (a stream states its tenant once). The key is checked again on every
/// message, so a revocation also ends the streams in progress.
/// </remarks>
public sealed class ApiKeyAuthorizer(ApiKeyCache cache, ServiceAccessRules rules) : IRpcCallAuthorizer
{
    public const string HeaderName = "authorization";
    public const string Scheme = "Bearer";

    private const string ExpectedForm = "send metadata 'authorization: Bearer <API key>' with a key of the form cck_<key id>_<secret>";

    public ValueTask AuthorizeCallAsync(MethodDescriptor method, ServerCallContext context, IMessage? request) =>
        AuthorizeAsync(rules.For(method), context, request, messageNumber: 0);

    public ValueTask AuthorizeStreamMessageAsync(MethodDescriptor method, ServerCallContext context, IMessage request, long messageNumber) =>
        AuthorizeAsync(rules.For(method), context, request, messageNumber);

    /// <summary>
    /// The key from the request metadata, or a refusal. Only the "Bearer" scheme is accepted (its name in any case,
    /// as RFC 9110 has it), with one space before the key.
    /// </summary>
    private static ReadOnlySpan<char> PresentedKey(Metadata headers)
    {
        string? value = null;
        foreach (var entry in headers)
        {
            if (string.Equals(entry.Key, HeaderName, StringComparison.Ordinal))
            {
                if (value is not null)
                {
                    throw Unauthenticated("more than one authorization header: " + ExpectedForm);
                }

                value = entry.Value;
            }
        }

        if (value is null)
        {
            throw Unauthenticated("missing API key: " + ExpectedForm);
        }

        var text = value.AsSpan();
        if (text.Length <= Scheme.Length + 1 || !text.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || text[Scheme.Length] != ' ')
        {
            throw Unauthenticated("malformed authorization header: " + ExpectedForm);
        }

        return text[(Scheme.Length + 1)..];
    }

    private static void Check(MethodAccess access, ActiveApiKey key, ReadOnlySpan<byte> presentedSha256, IMessage? request, long messageNumber)
    {
        // Constant time: how much of a hash matched must not show in the answer time.
        if (!CryptographicOperations.FixedTimeEquals(key.SecretSha256, presentedSha256))
        {
            throw InvalidKey();
        }

        var needed = access.Access == ServiceAccess.NetworkElement ? ApiKeyRole.NetworkElement : ApiKeyRole.Admin;
        if (key.Role != needed)
        {
            throw PermissionDenied($"{access.ServiceName} needs a key of role {needed.Name()}; this key's role is {key.Role.Name()}");
        }

        if (key.TenantId is not { } scope)
        {
            return;
        }

        if (access.TenantIdField is not { } field)
        {
            throw PermissionDenied($"this API key may act only for tenant '{scope}', and {access.ServiceName} requests of this kind name no tenant");
        }

        if (request is null)
        {
            return;
        }

        var tenantId = field.Accessor.GetValue(request) as string ?? string.Empty;
        var statedEarlier = messageNumber > 1 && tenantId.Length == 0;
        if (!statedEarlier && !string.Equals(tenantId, scope, StringComparison.Ordinal))
        {
            // The request's tenant_id is not echoed: it is whatever the caller sent, of any length.
            throw PermissionDenied($"this API key may act only for tenant '{scope}'; the request's tenant_id names another");
        }
    }

    /// <summary>One answer for an unknown id, a revoked key and a wrong secret: which one it was helps only a guesser.</summary>
    private static RpcException InvalidKey() => Unauthenticated("invalid API key: unknown, revoked or wrong secret");

    private static RpcException Unauthenticated(string detail) => new(new Status(StatusCode.Unauthenticated, detail));

    private static RpcException PermissionDenied(string detail) => new(new Status(StatusCode.PermissionDenied, detail));

    private ValueTask AuthorizeAsync(MethodAccess access, ServerCallContext context, IMessage? request, long messageNumber)
    {
        if (access.Access == ServiceAccess.Open)
        {
            return ValueTask.CompletedTask;
        }

        var presented = PresentedKey(context.RequestHeaders);
        Span<byte> presentedSha256 = stackalloc byte[ApiKeyFormat.HashBytes];
        if (!ApiKeyFormat.TryParse(presented, out var keyId, presentedSha256))
        {
            throw Unauthenticated("malformed API key: " + ExpectedForm);
        }

        switch (cache.TryGet(keyId, out var key))
        {
            case KeyLookup.Found:
                Check(access, key!, presentedSha256, request, messageNumber);
                return ValueTask.CompletedTask;
            case KeyLookup.Unknown:
                throw InvalidKey();
            default:
                return LoadAndCheckAsync(access, keyId.ToString(), presentedSha256.ToArray(), request, messageNumber, context.CancellationToken);
        }
    }

    private async ValueTask LoadAndCheckAsync(
        MethodAccess access, string keyId, byte[] presentedSha256, IMessage? request, long messageNumber, CancellationToken cancellationToken)
    {
        var key = await cache.LoadAsync(keyId, cancellationToken);
        if (key is null)
        {
            throw InvalidKey();
        }

        Check(access, key, presentedSha256, request, messageNumber);
    }
}
