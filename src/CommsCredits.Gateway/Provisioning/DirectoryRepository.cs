namespace CommsCredits.Gateway.Provisioning;

using System.Data;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Tenants;
using Dapper;
using Google.Protobuf.WellKnownTypes;
using Npgsql;

/// <summary>
/// The tenant directory in PostgreSQL. A change runs in one transaction in which the tenant's directory writers take
/// turns (a per-tenant advisory lock), so limits are exact; when it changed something, it raises the tenant's
/// directory revision and notifies every gateway in the same transaction. Refusals are the Directory service's gRPC
/// statuses, raised inside that transaction, so a refused change writes nothing.
/// </summary>
public sealed class DirectoryRepository(NpgsqlDataSource dataSource)
{
    /// <summary>The channel on which a directory change tells every gateway which tenant changed.</summary>
    public const string DirectoryChangedChannel = "commscredits_directory_changed";

    // The class of the per-tenant advisory lock; the two-int key space is separate from the bigint keys of LedgerLocks.
    private const int DirectoryLockClass = 0x44697200;

    private const string UserColumns =
        """
        tenant_id AS TenantId, user_id AS UserId, upn AS Upn, display_name AS DisplayName, location_country AS LocationCountry,
        communications_credits_licence AS CommunicationsCreditsLicence, calling_plan AS CallingPlan,
        audio_conferencing AS AudioConferencing, created_at AS CreatedAt, updated_at AS UpdatedAt
        """;

    private const string NumberColumns = "tenant_id AS TenantId, number AS Number, assigned_at AS AssignedAt";

    private const string PoolColumns =
        """
        pool_id AS PoolId, display_name AS DisplayName, call_type AS CallType, entitlement AS Entitlement,
        minutes_per_licence AS MinutesPerLicence, covered_prefixes AS CoveredPrefixes, user_countries AS UserCountries
        """;

    /// <summary>The tenant's directory, exactly as of the revision it carries; null when the tenant does not exist.</summary>
    public async Task<TenantDirectory?> LoadAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // One snapshot for the revision and everything it covers.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var parameters = new { tenantId };
        var revision = await connection.ExecuteScalarAsync<long?>(
            Command("SELECT directory_revision FROM tenants WHERE tenant_id = @tenantId", parameters, transaction, cancellationToken));
        if (revision is null)
        {
            return null;
        }

        var users = await connection.QueryAsync<LoadedUser>(Command(
            """
            SELECT user_id AS UserId, location_country AS LocationCountry, communications_credits_licence AS CommunicationsCreditsLicence,
                   calling_plan AS CallingPlan, audio_conferencing AS AudioConferencing
            FROM users WHERE tenant_id = @tenantId
            """,
            parameters,
            transaction,
            cancellationToken));
        var numbers = await connection.QueryAsync<string>(
            Command("SELECT number FROM toll_free_numbers WHERE tenant_id = @tenantId", parameters, transaction, cancellationToken));
        var pools = await connection.QueryAsync<PoolRow>(
            Command($"SELECT {PoolColumns} FROM minute_pools WHERE tenant_id = @tenantId", parameters, transaction, cancellationToken));
        await transaction.CommitAsync(cancellationToken);

        // Users share one string per country (at most 26 × 26 of them, by the table's check): 100,000 users would
        // otherwise hold 100,000 copies of a handful of codes.
        return new TenantDirectory(
            revision.Value,
            users.Select(user => new DirectoryUser(
                user.UserId, string.Intern(user.LocationCountry), user.CommunicationsCreditsLicence, (CallingPlan)user.CallingPlan, user.AudioConferencing)),
            numbers,
            pools.Select(pool => pool.ToDefinition()));
    }

    /// <summary>The tenant's directory revision, or null when the tenant does not exist.</summary>
    public async Task<long?> GetRevisionAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(
            Command("SELECT directory_revision FROM tenants WHERE tenant_id = @tenantId", new { tenantId }, null, cancellationToken));
    }

    /// <summary>Creates or replaces a validated user; an identical user is left as it is (and no revision raised).</summary>
    public Task<DirectoryChange<User>> PutUserAsync(PutUserRequest user, int maxUsers, CancellationToken cancellationToken) =>
        ChangeAsync(user.TenantId, async (connection, transaction) =>
        {
            var parameters = new
            {
                user.TenantId, user.UserId, user.Upn, user.DisplayName, user.LocationCountry, user.CommunicationsCreditsLicence,
                CallingPlan = (short)user.CallingPlan, user.AudioConferencing,
            };
            var upnOwner = await connection.ExecuteScalarAsync<string?>(Command(
                "SELECT user_id FROM users WHERE tenant_id = @TenantId AND lower(upn) = lower(@Upn) AND user_id <> @UserId",
                parameters,
                transaction,
                cancellationToken));
            if (upnOwner is not null)
            {
                throw DirectoryErrors.UpnTaken(user.Upn, upnOwner);
            }

            var stored = await connection.QuerySingleOrDefaultAsync<UserRow>(
                Command($"SELECT {UserColumns} FROM users WHERE tenant_id = @TenantId AND user_id = @UserId", parameters, transaction, cancellationToken));
            if (stored is not null && stored.HasFieldsOf(user))
            {
                return (stored.ToMessage(), false);
            }

            if (stored is null)
            {
                await EnsureRoomAsync(connection, transaction, "SELECT count(*) FROM users WHERE tenant_id = @tenantId", user.TenantId, maxUsers, "users", "Directory:MaxUsersPerTenant", cancellationToken);
            }

            var written = await connection.QuerySingleAsync<UserRow>(Command(
                $"""
                INSERT INTO users (tenant_id, user_id, upn, display_name, location_country, communications_credits_licence,
                                   calling_plan, audio_conferencing)
                VALUES (@TenantId, @UserId, @Upn, @DisplayName, @LocationCountry, @CommunicationsCreditsLicence, @CallingPlan, @AudioConferencing)
                ON CONFLICT (tenant_id, user_id) DO UPDATE SET
                    upn = excluded.upn, display_name = excluded.display_name, location_country = excluded.location_country,
                    communications_credits_licence = excluded.communications_credits_licence, calling_plan = excluded.calling_plan,
                    audio_conferencing = excluded.audio_conferencing, updated_at = now()
                RETURNING {UserColumns}
                """,
                parameters,
                transaction,
                cancellationToken));
            return (written.ToMessage(), true);
        },
        cancellationToken);

    /// <summary>The user; NOT_FOUND when the tenant or the user does not exist.</summary>
    public async Task<User> GetUserAsync(string tenantId, string userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var stored = await connection.QuerySingleOrDefaultAsync<UserRow>(Command(
            $"SELECT {UserColumns} FROM users WHERE tenant_id = @tenantId AND user_id = @userId", new { tenantId, userId }, null, cancellationToken));
        if (stored is not null)
        {
            return stored.ToMessage();
        }

        await RequireTenantAsync(connection, tenantId, cancellationToken);
        throw DirectoryErrors.UnknownUser(tenantId, userId);
    }

    /// <summary>Up to <paramref name="limit"/> users whose id comes after <paramref name="afterUserId"/>, in ordinal order.</summary>
    public async Task<IReadOnlyList<User>> ListUsersAsync(string tenantId, string afterUserId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await RequireTenantAsync(connection, tenantId, cancellationToken);
        var rows = await connection.QueryAsync<UserRow>(Command(
            $"SELECT {UserColumns} FROM users WHERE tenant_id = @tenantId AND user_id > @afterUserId ORDER BY user_id LIMIT @limit",
            new { tenantId, afterUserId, limit },
            null,
            cancellationToken));
        return [.. rows.Select(row => row.ToMessage())];
    }

    /// <summary>Removes the user; the result is whether there was one.</summary>
    public Task<DirectoryChange<bool>> RemoveUserAsync(string tenantId, string userId, CancellationToken cancellationToken) =>
        DeleteAsync(tenantId, "DELETE FROM users WHERE tenant_id = @tenantId AND user_id = @key", userId, cancellationToken);

    /// <summary>Gives the number to the tenant; the stored assignment when the tenant already owns it.</summary>
    public Task<DirectoryChange<TollFreeNumber>> AssignTollFreeNumberAsync(string tenantId, string number, int maxNumbers, CancellationToken cancellationToken) =>
        ChangeAsync(tenantId, async (connection, transaction) =>
        {
            var parameters = new { tenantId, number };
            var owned = await connection.QuerySingleOrDefaultAsync<NumberRow>(
                Command($"SELECT {NumberColumns} FROM toll_free_numbers WHERE number = @number", parameters, transaction, cancellationToken));
            if (owned is not null)
            {
                return string.Equals(owned.TenantId, tenantId, StringComparison.Ordinal) ? (owned.ToMessage(), false) : throw DirectoryErrors.NumberOwnedElsewhere(number);
            }

            await EnsureRoomAsync(
                connection, transaction, "SELECT count(*) FROM toll_free_numbers WHERE tenant_id = @tenantId", tenantId, maxNumbers, "toll-free numbers",
                "Directory:MaxTollFreeNumbersPerTenant", cancellationToken);
            var inserted = await connection.QuerySingleOrDefaultAsync<NumberRow>(Command(
                $"INSERT INTO toll_free_numbers (number, tenant_id) VALUES (@number, @tenantId) ON CONFLICT (number) DO NOTHING RETURNING {NumberColumns}",
                parameters,
                transaction,
                cancellationToken));

            // Nothing inserted: another tenant's assignment committed between our read and our insert.
            return inserted is not null ? (inserted.ToMessage(), true) : throw DirectoryErrors.NumberOwnedElsewhere(number);
        },
        cancellationToken);

    /// <summary>Takes the number from the tenant; the result is whether the tenant owned it.</summary>
    public Task<DirectoryChange<bool>> ReleaseTollFreeNumberAsync(string tenantId, string number, CancellationToken cancellationToken) =>
        DeleteAsync(tenantId, "DELETE FROM toll_free_numbers WHERE tenant_id = @tenantId AND number = @key", number, cancellationToken);

    /// <summary>Up to <paramref name="limit"/> of the tenant's numbers that come after <paramref name="afterNumber"/>, in ordinal order.</summary>
    public async Task<IReadOnlyList<TollFreeNumber>> ListTollFreeNumbersAsync(string tenantId, string afterNumber, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await RequireTenantAsync(connection, tenantId, cancellationToken);
        var rows = await connection.QueryAsync<NumberRow>(Command(
            $"SELECT {NumberColumns} FROM toll_free_numbers WHERE tenant_id = @tenantId AND number > @afterNumber ORDER BY number LIMIT @limit",
            new { tenantId, afterNumber, limit },
            null,
            cancellationToken));
        return [.. rows.Select(row => row.ToMessage())];
    }

    /// <summary>Creates or replaces a validated pool; an identical pool is left as it is (and no revision raised).</summary>
    public Task<DirectoryChange<bool>> PutMinutePoolAsync(string tenantId, MinutePoolDefinition pool, int maxPools, CancellationToken cancellationToken) =>
        ChangeAsync(tenantId, async (connection, transaction) =>
        {
            var parameters = new
            {
                tenantId, pool.PoolId, pool.DisplayName, CallType = (short)pool.CallType, Entitlement = (short)pool.Entitlement,
                pool.MinutesPerLicence, CoveredPrefixes = pool.CoveredPrefixes.ToArray(), UserCountries = pool.UserCountries.ToArray(),
            };
            var stored = await connection.QuerySingleOrDefaultAsync<PoolRow>(Command(
                $"SELECT {PoolColumns} FROM minute_pools WHERE tenant_id = @tenantId AND pool_id = @PoolId", parameters, transaction, cancellationToken));
            if (stored is not null && stored.ToDefinition().IsSameAs(pool))
            {
                return (false, false);
            }

            if (stored is null)
            {
                await EnsureRoomAsync(
                    connection, transaction, "SELECT count(*) FROM minute_pools WHERE tenant_id = @tenantId", tenantId, maxPools, "minute pools",
                    "Directory:MaxPoolsPerTenant", cancellationToken);
            }

            await connection.ExecuteAsync(Command(
                """
                INSERT INTO minute_pools (tenant_id, pool_id, display_name, call_type, entitlement, minutes_per_licence,
                                          covered_prefixes, user_countries)
                VALUES (@tenantId, @PoolId, @DisplayName, @CallType, @Entitlement, @MinutesPerLicence, @CoveredPrefixes, @UserCountries)
                ON CONFLICT (tenant_id, pool_id) DO UPDATE SET
                    display_name = excluded.display_name, call_type = excluded.call_type, entitlement = excluded.entitlement,
                    minutes_per_licence = excluded.minutes_per_licence, covered_prefixes = excluded.covered_prefixes,
                    user_countries = excluded.user_countries
                """,
                parameters,
                transaction,
                cancellationToken));
            return (true, true);
        },
        cancellationToken);

    /// <summary>Removes the pool; the result is whether there was one.</summary>
    public Task<DirectoryChange<bool>> RemoveMinutePoolAsync(string tenantId, string poolId, CancellationToken cancellationToken) =>
        DeleteAsync(tenantId, "DELETE FROM minute_pools WHERE tenant_id = @tenantId AND pool_id = @key", poolId, cancellationToken);

    private Task<DirectoryChange<bool>> DeleteAsync(string tenantId, string deleteSql, string key, CancellationToken cancellationToken) =>
        ChangeAsync(tenantId, async (connection, transaction) =>
        {
            var deleted = await connection.ExecuteAsync(Command(deleteSql, new { tenantId, key }, transaction, cancellationToken)) > 0;
            return (deleted, deleted);
        },
        cancellationToken);

    /// <summary>
    /// Runs one change of a tenant's directory (see the class comment). The answer carries the directory revision that
    /// holds the change: the raised one, or the current one when nothing changed.
    /// </summary>
    private async Task<DirectoryChange<T>> ChangeAsync<T>(
        string tenantId, Func<NpgsqlConnection, NpgsqlTransaction, Task<(T Result, bool Changed)>> change, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var parameters = new { tenantId, lockClass = DirectoryLockClass };
        await connection.ExecuteAsync(Command("SELECT pg_advisory_xact_lock(@lockClass, hashtext(@tenantId))", parameters, transaction, cancellationToken));
        var revision = await connection.ExecuteScalarAsync<long?>(
            Command("SELECT directory_revision FROM tenants WHERE tenant_id = @tenantId", parameters, transaction, cancellationToken))
            ?? throw DirectoryErrors.UnknownTenant(tenantId);
        var (result, changed) = await change(connection, transaction);
        if (changed)
        {
            // Raised last, so the tenants row stays locked only until the commit: a hot-state rebuild updates it too.
            revision = await TenantRepository.RaiseProfileRevisionAsync(connection, transaction, tenantId, cancellationToken)
                ?? throw DirectoryErrors.UnknownTenant(tenantId);
        }

        await transaction.CommitAsync(cancellationToken);
        return new DirectoryChange<T>(result, revision);
    }

    private static async Task RequireTenantAsync(NpgsqlConnection connection, string tenantId, CancellationToken cancellationToken)
    {
        if (!await connection.ExecuteScalarAsync<bool>(
            Command("SELECT EXISTS (SELECT 1 FROM tenants WHERE tenant_id = @tenantId)", new { tenantId }, null, cancellationToken)))
        {
            throw DirectoryErrors.UnknownTenant(tenantId);
        }
    }

    private static async Task EnsureRoomAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string countSql, string tenantId, int max, string what, string setting, CancellationToken cancellationToken)
    {
        var count = await connection.ExecuteScalarAsync<long>(Command(countSql, new { tenantId }, transaction, cancellationToken));
        if (count >= max)
        {
            throw DirectoryErrors.LimitReached(tenantId, count, what, setting);
        }
    }

    private static CommandDefinition Command(string sql, object parameters, NpgsqlTransaction? transaction, CancellationToken cancellationToken) =>
        new(sql, parameters, transaction, cancellationToken: cancellationToken);

    private static Timestamp Utc(DateTime value) => Timestamp.FromDateTime(value.ToUniversalTime());

    private sealed record LoadedUser(string UserId, string LocationCountry, bool CommunicationsCreditsLicence, short CallingPlan, bool AudioConferencing);

    private sealed record UserRow(
        string TenantId,
        string UserId,
        string Upn,
        string DisplayName,
        string LocationCountry,
        bool CommunicationsCreditsLicence,
        short CallingPlan,
        bool AudioConferencing,
        DateTime CreatedAt,
        DateTime UpdatedAt)
    {
        public bool HasFieldsOf(PutUserRequest request) =>
            string.Equals(Upn, request.Upn, StringComparison.Ordinal)
            && string.Equals(DisplayName, request.DisplayName, StringComparison.Ordinal)
            && string.Equals(LocationCountry, request.LocationCountry, StringComparison.Ordinal)
            && CommunicationsCreditsLicence == request.CommunicationsCreditsLicence
            && CallingPlan == (short)request.CallingPlan
            && AudioConferencing == request.AudioConferencing;

        public User ToMessage() => new()
        {
            TenantId = TenantId,
            UserId = UserId,
            Upn = Upn,
            DisplayName = DisplayName,
            LocationCountry = LocationCountry,
            CommunicationsCreditsLicence = CommunicationsCreditsLicence,
            CallingPlan = (CallingPlan)CallingPlan,
            AudioConferencing = AudioConferencing,
            CreatedAt = Utc(CreatedAt),
            UpdatedAt = Utc(UpdatedAt),
        };
    }

    private sealed record NumberRow(string TenantId, string Number, DateTime AssignedAt)
    {
        public TollFreeNumber ToMessage() => new() { TenantId = TenantId, Number = Number, AssignedAt = Utc(AssignedAt) };
    }

    // Properties rather than a positional record: Dapper matches constructors by the reader's field types, and reports
    // text[] columns as System.Array.
    private sealed class PoolRow
    {
        public string PoolId { get; set; } = string.Empty;

        public string DisplayName { get; set; } = string.Empty;

        public short CallType { get; set; }

        public short Entitlement { get; set; }

        public int MinutesPerLicence { get; set; }

        public string[] CoveredPrefixes { get; set; } = [];

        public string[] UserCountries { get; set; } = [];

        public MinutePoolDefinition ToDefinition() =>
            new(PoolId, DisplayName, (CallType)CallType, (PoolEntitlement)Entitlement, MinutesPerLicence, CoveredPrefixes, UserCountries);
    }
}

/// <summary>What a directory change answered, and the directory revision that holds it.</summary>
public readonly record struct DirectoryChange<T>(T Result, long Revision);
