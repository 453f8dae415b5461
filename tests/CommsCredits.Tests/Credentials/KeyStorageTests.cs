namespace CommsCredits.Tests.Credentials;

using System.Buffers.Text;
using System.Security.Cryptography;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Tests.Charging;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;
using Xunit;

/// <summary>What PostgreSQL holds of a key: its hash, never its secret.</summary>
public sealed class KeyStorageTests
{
    [Fact]
    public async Task A_key_is_stored_as_the_SHA_256_of_its_secret_and_the_database_holds_no_secret_text()
    {
        // Proves the stored row has the key's id, role, scope and the SHA-256 of the secret bytes, and that no column
        // of it, in any text form PostgreSQL can give, contains the secret (base64url, base64 or hex) or the key.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        var key = await gateway.CreateKeyAsync(ApiKeyRole.NetworkElement, tenant);
        var keyId = key[4..16];
        var secret = Base64Url.DecodeFromChars(key.AsSpan(17));

        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        var row = await connection.QuerySingleAsync<(short Role, string TenantId, byte[] Hash, string Json)>(
            "SELECT role, tenant_id, secret_sha256, row_to_json(k)::text FROM api_keys k WHERE key_id = @keyId", new { keyId });

        row.Role.ShouldBe((short)ApiKeyRole.NetworkElement);
        row.TenantId.ShouldBe(tenant);
        row.Hash.ShouldBe(SHA256.HashData(secret));
        foreach (var form in new[] { key, key[17..], Convert.ToBase64String(secret).TrimEnd('='), Convert.ToHexStringLower(secret) })
        {
            row.Json.ShouldNotContain(form, Case.Insensitive);
        }
    }

    [Fact]
    public async Task Revoking_is_for_good_and_listing_never_shows_a_secret()
    {
        // Proves RevokeAsync's outcomes (revoked, already revoked, unknown), that a revoked key is no longer active,
        // and that the listing names the key with its role, scope and revocation time and nothing secret.
        var gateway = await SharedGateway.GetAsync();
        var store = gateway.Services.GetRequiredService<ApiKeyStore>();
        var created = await store.CreateAsync(ApiKeyRole.Admin, tenantId: null, "revocation test", CancellationToken.None);
        var keyId = created.Record.KeyId;

        (await store.RevokeAsync(keyId, CancellationToken.None)).ShouldBe(RevokeOutcome.Revoked);
        (await store.RevokeAsync(keyId, CancellationToken.None)).ShouldBe(RevokeOutcome.AlreadyRevoked);
        (await store.RevokeAsync("zzzzzzzzzzzz", CancellationToken.None)).ShouldBe(RevokeOutcome.Unknown);
        (await store.FindActiveAsync(keyId, CancellationToken.None)).ShouldBeNull();

        var listed = (await store.ListAsync(ApiKeyStore.MaxListLimit, CancellationToken.None)).Single(key => string.Equals(key.KeyId, keyId, StringComparison.Ordinal));
        listed.Role.ShouldBe(ApiKeyRole.Admin);
        listed.TenantId.ShouldBeNull();
        listed.RevokedAt.ShouldNotBeNull();
        var table = KeyCommands.Table([listed]);
        table.ShouldContain(keyId);
        table.ShouldContain("(all tenants)");
        table.ShouldNotContain(created.Key[17..]);
    }
}
