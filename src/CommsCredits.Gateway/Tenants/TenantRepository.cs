namespace CommsCredits.Gateway.Tenants;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;
using Dapper;
using Npgsql;

/// <summary>Tenants and rate tables in PostgreSQL.</summary>
public sealed class TenantRepository(NpgsqlDataSource dataSource)
{
    /// <summary>The channel on which a rate import tells every gateway which tenant's rates changed.</summary>
    public const string RatesChangedChannel = "commscredits_rates_changed";

    /// <summary>Every tenant id in id order, up to <paramref name="maxTenants"/>, read a page at a time.</summary>
    public Task<IReadOnlyList<string>> ListAllIdsAsync(int pageSize, int maxTenants, CancellationToken cancellationToken) =>
        ListAllAsync(pageSize, maxTenants, ListIdsAsync, tenantId => tenantId, cancellationToken);

    /// <summary>Every tenant with its account currency, in id order, up to <paramref name="maxTenants"/>, read a page at a time.</summary>
    public Task<IReadOnlyList<TenantCurrency>> ListAllCurrenciesAsync(int pageSize, int maxTenants, CancellationToken cancellationToken) =>
        ListAllAsync(
            pageSize,
            maxTenants,
            (after, limit, token) => PageAsync<TenantCurrency>("tenant_id AS TenantId, currency AS Currency", after, limit, token),
            tenant => tenant.TenantId,
            cancellationToken);

    /// <summary>Up to <paramref name="limit"/> tenant ids after <paramref name="after"/> (empty: from the first), in id order: one page of a walk over every tenant.</summary>
    public Task<IReadOnlyList<string>> ListIdsAsync(string after, int limit, CancellationToken cancellationToken) =>
        PageAsync<string>("tenant_id", after, limit, cancellationToken);

    /// <summary>One page of tenants after <paramref name="after"/> in id order, as <paramref name="columns"/> (ours, never a caller's text).</summary>
    private async Task<IReadOnlyList<T>> PageAsync<T>(string columns, string after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var page = await connection.QueryAsync<T>(new CommandDefinition(
            $"SELECT {columns} FROM tenants WHERE tenant_id > @after ORDER BY tenant_id LIMIT @limit", new { after, limit }, cancellationToken: cancellationToken));
        return page.AsList();
    }

    /// <summary>A walk over the tenants in id order, one page after the id that ended the last.</summary>
    private static async Task<IReadOnlyList<T>> ListAllAsync<T>(
        int pageSize, int maxTenants, Func<string, int, CancellationToken, Task<IReadOnlyList<T>>> readPage, Func<T, string> idOf, CancellationToken cancellationToken)
    {
        var tenants = new List<T>();
        while (tenants.Count < maxTenants)
        {
            var page = await readPage(tenants.Count == 0 ? string.Empty : idOf(tenants[^1]), Math.Min(pageSize, maxTenants - tenants.Count), cancellationToken);
            tenants.AddRange(page);
            if (page.Count < pageSize)
            {
                break;
            }
        }

        return tenants;
    }

    public async Task<TenantRecord?> GetAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<TenantRow>(new CommandDefinition(
            """
            SELECT t.tenant_id AS TenantId, t.currency AS Currency, t.display_name AS DisplayName, t.created_at AS CreatedAt,
                   t.rates_revision AS RatesRevision, t.funding_expiry_months AS FundingExpiryMonths, t.time_zone AS TimeZone,
                   CASE WHEN a.enabled THEN a.trigger_micros END AS AutoRechargeTriggerMicros,
                   coalesce(array_to_string(n.low_balance_levels_micros, ','), '') AS LowBalanceLevels
            FROM tenants t LEFT JOIN auto_recharge_settings a USING (tenant_id) LEFT JOIN notification_settings n USING (tenant_id)
            WHERE t.tenant_id = @tenantId
            """,
            new { tenantId },
            cancellationToken: cancellationToken));
        return row is null
            ? null
            : new TenantRecord(
                row.TenantId, row.Currency, row.DisplayName, new DateTimeOffset(row.CreatedAt.ToUniversalTime(), TimeSpan.Zero), row.RatesRevision,
                row.FundingExpiryMonths, row.TimeZone, row.AutoRechargeTriggerMicros,
                row.LowBalanceLevels.Length == 0 ? [] : Array.ConvertAll(row.LowBalanceLevels.Split(','), Balances.Netstrings.ParseInteger));
    }

    /// <summary>Creates the tenant, or returns the stored one (Created false) when the id is taken.</summary>
    public async Task<(TenantRecord Tenant, bool Created)> CreateAsync(string tenantId, string currency, string displayName, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO tenants (tenant_id, currency, display_name) VALUES (@tenantId, @currency, @displayName) ON CONFLICT DO NOTHING",
            new { tenantId, currency, displayName },
            cancellationToken: cancellationToken));
        var tenant = await GetAsync(tenantId, cancellationToken)
            ?? throw new InvalidOperationException($"tenant {tenantId} vanished right after it was created");
        return (tenant, inserted == 1);
    }

    /// <summary>
    /// Changes the settings given (null leaves one as it is) and tells every gateway to reload the tenant. Null when
    /// the tenant does not exist. The settings travel with the directory: raising directory_revision makes the
    /// periodic check catch a missed notification.
    /// </summary>
    public async Task<TenantRecord?> UpdateAsync(string tenantId, string? displayName, string? timeZone, int? fundingExpiryMonths, CancellationToken cancellationToken)
    {
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE tenants
                SET display_name = coalesce(@displayName, display_name), time_zone = coalesce(@timeZone, time_zone),
                    funding_expiry_months = coalesce(@fundingExpiryMonths, funding_expiry_months)
                WHERE tenant_id = @tenantId
                """,
                new { tenantId, displayName, timeZone, fundingExpiryMonths },
                transaction,
                cancellationToken: cancellationToken));
            if (await RaiseProfileRevisionAsync(connection, transaction, tenantId, cancellationToken) is null)
            {
                return null;
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return await GetAsync(tenantId, cancellationToken);
    }

    /// <summary>
    /// Makes every gateway reload the tenant's profile (directory, settings, auto-recharge trigger, low-balance levels)
    /// once the caller's transaction commits: raises directory_revision (which the periodic check compares, in case a
    /// notification is missed) and sends the directory-changed notification. Returns the new revision, or null when
    /// the tenant does not exist. Every change to what a profile holds, outside rate imports, goes through here.
    /// </summary>
    public static async Task<long?> RaiseProfileRevisionAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, CancellationToken cancellationToken)
    {
        var revision = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "UPDATE tenants SET directory_revision = directory_revision + 1 WHERE tenant_id = @tenantId RETURNING directory_revision",
            new { tenantId },
            transaction,
            cancellationToken: cancellationToken));
        if (revision is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_notify(@channel, @tenantId)",
                new { channel = Provisioning.DirectoryRepository.DirectoryChangedChannel, tenantId },
                transaction,
                cancellationToken: cancellationToken));
        }

        return revision;
    }

    public async Task<IReadOnlyList<RateVersion>> LoadRatesAsync(string tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<StoredRate>(new CommandDefinition(
            """
            SELECT call_type AS CallType, prefix AS Prefix, effective_from AS EffectiveFrom, destination_name AS DestinationName,
                   rate_per_minute_micros AS RatePerMinuteMicros, connection_fee_micros AS ConnectionFeeMicros,
                   first_increment_seconds AS FirstIncrementSeconds, next_increment_seconds AS NextIncrementSeconds
            FROM rates WHERE tenant_id = @tenantId
            """,
            new { tenantId },
            cancellationToken: cancellationToken));
        var versions = new List<RateVersion>();
        foreach (var row in rows)
        {
            var tariff = new Tariff(
                row.DestinationName, row.Prefix, row.RatePerMinuteMicros, row.ConnectionFeeMicros,
                row.FirstIncrementSeconds, row.NextIncrementSeconds, new DateTimeOffset(row.EffectiveFrom.ToUniversalTime(), TimeSpan.Zero));
            versions.Add(new RateVersion((CallType)row.CallType, tariff));
        }

        return versions;
    }

    /// <summary>
    /// Stores a validated import in one transaction (a row with the same call type, prefix and effective time replaces
    /// the stored one), raises the tenant's rates revision, and notifies every gateway. Returns the new revision, or
    /// null when the tenant does not exist.
    /// </summary>
    public async Task<long?> ImportRatesAsync(string tenantId, IReadOnlyList<RateVersion> versions, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var revision = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "UPDATE tenants SET rates_revision = rates_revision + 1 WHERE tenant_id = @tenantId RETURNING rates_revision",
            new { tenantId },
            transaction,
            cancellationToken: cancellationToken));
        if (revision is null)
        {
            await transaction.RollbackAsync(cancellationToken);
            return null;
        }

        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO rates (tenant_id, call_type, prefix, effective_from, destination_name, rate_per_minute_micros,
                               connection_fee_micros, first_increment_seconds, next_increment_seconds, revision)
            SELECT @tenant_id, r.call_type, r.prefix, r.effective_from, r.destination_name, r.rate, r.fee, r.first, r.next, @revision
            FROM unnest(@call_type, @prefix, @effective_from, @destination_name, @rate, @fee, @first, @next)
                 AS r(call_type, prefix, effective_from, destination_name, rate, fee, first, next)
            ON CONFLICT (tenant_id, call_type, prefix, effective_from) DO UPDATE SET
                destination_name = excluded.destination_name, rate_per_minute_micros = excluded.rate_per_minute_micros,
                connection_fee_micros = excluded.connection_fee_micros,
                first_increment_seconds = excluded.first_increment_seconds,
                next_increment_seconds = excluded.next_increment_seconds, revision = excluded.revision
            """,
            connection,
            transaction))
        {
            insert.Parameters.AddWithValue("tenant_id", tenantId);
            insert.Parameters.AddWithValue("revision", revision.Value);
            insert.Parameters.AddWithValue("call_type", versions.Select(v => (short)v.CallType).ToArray());
            insert.Parameters.AddWithValue("prefix", versions.Select(v => v.Tariff.Prefix).ToArray());
            insert.Parameters.AddWithValue("effective_from", versions.Select(v => v.Tariff.EffectiveFrom).ToArray());
            insert.Parameters.AddWithValue("destination_name", versions.Select(v => v.Tariff.DestinationName).ToArray());
            insert.Parameters.AddWithValue("rate", versions.Select(v => v.Tariff.RatePerMinuteMicros).ToArray());
            insert.Parameters.AddWithValue("fee", versions.Select(v => v.Tariff.ConnectionFeeMicros).ToArray());
            insert.Parameters.AddWithValue("first", versions.Select(v => (int)v.Tariff.FirstIncrementSeconds).ToArray());
            insert.Parameters.AddWithValue("next", versions.Select(v => (int)v.Tariff.NextIncrementSeconds).ToArray());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_notify(@channel, @tenantId)",
            new { channel = RatesChangedChannel, tenantId },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return revision;
    }

    /// <summary>The current rates and directory revisions of each of these tenants that exists.</summary>
    public async Task<IReadOnlyDictionary<string, TenantRevisions>> GetRevisionsAsync(string[] tenantIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string TenantId, long Rates, long Directory)>(new CommandDefinition(
            "SELECT tenant_id, rates_revision, directory_revision FROM tenants WHERE tenant_id = ANY(@tenantIds)",
            new { tenantIds },
            cancellationToken: cancellationToken));
        return rows.ToDictionary(row => row.TenantId, row => new TenantRevisions(row.Rates, row.Directory), StringComparer.Ordinal);
    }

    private sealed record TenantRow(
        string TenantId, string Currency, string DisplayName, DateTime CreatedAt, long RatesRevision, int FundingExpiryMonths, string TimeZone,
        long? AutoRechargeTriggerMicros,
        string LowBalanceLevels);

    private sealed record StoredRate(
        short CallType,
        string Prefix,
        DateTime EffectiveFrom,
        string DestinationName,
        long RatePerMinuteMicros,
        long ConnectionFeeMicros,
        int FirstIncrementSeconds,
        int NextIncrementSeconds);
}

/// <summary>A tenant and the currency of its account.</summary>
public sealed record TenantCurrency(string TenantId, string Currency);
