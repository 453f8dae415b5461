namespace CommsCredits.Gateway.Credentials;

using Dapper;
using Npgsql;

/// <summary>One stored API key as people see it: never its secret, which is not stored.</summary>
public sealed record ApiKeyRecord(string KeyId, ApiKeyRole Role, string? TenantId, string Description, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>What a gateway needs to verify a key that is not revoked.</summary>
public sealed record ActiveApiKey(string KeyId, ApiKeyRole Role, string? TenantId, byte[] SecretSha256);

/// <summary>A key just created: the stored record and the key text, which exists nowhere else and is shown once.</summary>
public sealed record CreatedApiKey(ApiKeyRecord Record, string Key);

/// <summary>What <see cref="ApiKeyStore.RevokeAsync"/> found.</summary>
public enum RevokeOutcome
{
    Revoked,
    AlreadyRevoked,
    Unknown,
}

/// <summary>API keys in PostgreSQL (table api_keys). Revocations notify every gateway so that they drop the key at once.</summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource)
{
    /// <summary>The channel on which a revocation names the revoked key id to every gateway.</summary>
    public const string KeysChangedChannel = "commscredits_api_keys_changed";

    public const int MaxDescriptionLength = 200;

    /// <summary>Most keys one listing returns.</summary>
    public const int MaxListLimit = 100_000;

    /// <summary>A key id collision (60 random bits) is all but impossible; a few tries make it impossible in practice.</summary>
    private const int MaxCreateAttempts = 3;


    private const string SelectRecord =
        """
        SELECT key_id AS KeyId, role AS Role, tenant_id AS TenantId, description AS Description, created_at AS CreatedAt,
               revoked_at AS RevokedAt
        FROM api_keys
        """;

    /// <summary>
    /// Creates a key for <paramref name="tenantId"/> only, or for every tenant when it is null. Throws ArgumentException
    /// naming the problem when the description is too long or the tenant does not exist.
    /// </summary>
    public async Task<CreatedApiKey> CreateAsync(ApiKeyRole role, string? tenantId, string description, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(description);
        if (description.Length > MaxDescriptionLength || description.Any(char.IsControl))
        {
            throw new ArgumentException($"description must be at most {MaxDescriptionLength} characters without control characters", nameof(description));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            var (keyId, key, secretSha256) = ApiKeyFormat.Generate();
            try
            {
                var row = await connection.QuerySingleAsync<RecordRow>(new CommandDefinition(
                    """
                    INSERT INTO api_keys (key_id, role, tenant_id, secret_sha256, description)
                    VALUES (@keyId, @role, @tenantId, @secretSha256, @description)
                    RETURNING key_id AS KeyId, role AS Role, tenant_id AS TenantId, description AS Description,
                              created_at AS CreatedAt, revoked_at AS RevokedAt
                    """,
                    new { keyId, role = (short)role, tenantId, secretSha256, description },
                    cancellationToken: cancellationToken));
                return new CreatedApiKey(row.ToRecord(), key);
            }
            catch (PostgresException exception) when (string.Equals(exception.SqlState, PostgresErrorCodes.ForeignKeyViolation, StringComparison.Ordinal))
            {
                throw new ArgumentException($"tenant '{tenantId}' does not exist", nameof(tenantId), exception);
            }
            catch (PostgresException exception) when (string.Equals(exception.SqlState, PostgresErrorCodes.UniqueViolation, StringComparison.Ordinal) && attempt < MaxCreateAttempts)
            {
                // Another key drew the same id: draw again.
            }
        }
    }

    /// <summary>Revokes a key for good and tells every gateway, in the same transaction.</summary>
    public async Task<RevokeOutcome> RevokeAsync(string keyId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var revoked = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = @keyId AND revoked_at IS NULL",
            new { keyId },
            transaction,
            cancellationToken: cancellationToken));
        if (revoked == 0)
        {
            var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM api_keys WHERE key_id = @keyId)", new { keyId }, transaction, cancellationToken: cancellationToken));
            await transaction.RollbackAsync(cancellationToken);
            return exists ? RevokeOutcome.AlreadyRevoked : RevokeOutcome.Unknown;
        }

        await NotifyAsync(connection, transaction, keyId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return RevokeOutcome.Revoked;
    }

    /// <summary>Revokes every active key with exactly this description (the demo seed marks its keys so); returns their ids.</summary>
    public async Task<IReadOnlyList<string>> RevokeByDescriptionAsync(string description, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var keyIds = (await connection.QueryAsync<string>(new CommandDefinition(
            "UPDATE api_keys SET revoked_at = now() WHERE description = @description AND revoked_at IS NULL RETURNING key_id",
            new { description },
            transaction,
            cancellationToken: cancellationToken))).ToList();
        foreach (var keyId in keyIds)
        {
            await NotifyAsync(connection, transaction, keyId, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return keyIds;
    }

    /// <summary>Keys newest first, revoked ones included, at most <paramref name="limit"/> of them.</summary>
    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, MaxListLimit);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<RecordRow>(new CommandDefinition(
            SelectRecord + " ORDER BY created_at DESC, key_id LIMIT @limit", new { limit }, cancellationToken: cancellationToken));
        return [.. rows.Select(row => row.ToRecord())];
    }

    /// <summary>The key if it exists and is not revoked.</summary>
    public async Task<ActiveApiKey?> FindActiveAsync(string keyId, CancellationToken cancellationToken)
    {
        var found = await FindActiveAsync([keyId], cancellationToken);
        return found.GetValueOrDefault(keyId);
    }

    /// <summary>Those of these keys that exist and are not revoked.</summary>
    public async Task<IReadOnlyDictionary<string, ActiveApiKey>> FindActiveAsync(string[] keyIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<ActiveRow>(new CommandDefinition(
            """
            SELECT key_id AS KeyId, role AS Role, tenant_id AS TenantId, secret_sha256 AS SecretSha256
            FROM api_keys WHERE key_id = ANY(@keyIds) AND revoked_at IS NULL
            """,
            new { keyIds },
            cancellationToken: cancellationToken));
        return rows.ToDictionary(row => row.KeyId, row => row.ToActive(), StringComparer.Ordinal);
    }

    private static Task<int> NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string keyId, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_notify(@channel, @keyId)", new { channel = KeysChangedChannel, keyId }, transaction, cancellationToken: cancellationToken));

    private static ApiKeyRole CheckedRole(short role) =>
        Enum.IsDefined((ApiKeyRole)role) ? (ApiKeyRole)role : throw new InvalidOperationException($"api_keys holds unknown role {role}");

    private sealed record RecordRow(string KeyId, short Role, string? TenantId, string Description, DateTime CreatedAt, DateTime? RevokedAt)
    {
        public ApiKeyRecord ToRecord() => new(
            KeyId,
            CheckedRole(Role),
            TenantId,
            Description,
            new DateTimeOffset(CreatedAt.ToUniversalTime(), TimeSpan.Zero),
            RevokedAt is { } revoked ? new DateTimeOffset(revoked.ToUniversalTime(), TimeSpan.Zero) : null);
    }

    private sealed record ActiveRow(string KeyId, short Role, string? TenantId, byte[] SecretSha256)
    {
        public ActiveApiKey ToActive() =>
            SecretSha256.Length == ApiKeyFormat.HashBytes
                ? new ActiveApiKey(KeyId, CheckedRole(Role), TenantId, SecretSha256)
                : throw new InvalidOperationException($"api_keys holds a secret hash of {SecretSha256.Length} bytes for key {KeyId}");
    }
}
