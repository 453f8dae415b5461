namespace CommsCredits.Gateway.Accounts;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Funding;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Recharge;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using Dapper;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Npgsql;
using LedgerEntryKind = CommsCredits.Gateway.Ledger.LedgerEntryKind;
using LotSource = CommsCredits.Gateway.Ledger.LotSource;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>The admin side: tenants, funds and rate tables. Errors are gRPC statuses (see accounts.proto).</summary>
public sealed class AccountAdministration(
    TenantRepository tenants,
    TenantCatalog catalog,
    HotState hotState,
    BalanceCredits credits,
    LedgerReader ledger,
    AutoRechargeSettings autoRecharge,
    NpgsqlDataSource dataSource,
    IOptions<AccountsOptions> options,
    IOptions<FundingOptions> fundingOptions)
{
    private const int MinExpiryMonths = 1;
    private const int MaxExpiryMonths = 120;
    private const int DefaultLedgerPageSize = 100;
    private readonly AccountsOptions settings = options.Value;
    private readonly FundingOptions funding = fundingOptions.Value;

    public async Task<Tenant> CreateTenantAsync(CreateTenantRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        if (!Currency.IsValidCode(request.Currency))
        {
            throw RequestValidator.Invalid($"currency must be an ISO 4217 code of three upper-case letters (got '{request.Currency}')");
        }

        Provisioning.DirectoryValidator.DisplayName(request.DisplayName);

        var (tenant, created) = await tenants.CreateAsync(request.TenantId, request.Currency, request.DisplayName, cancellationToken);
        if (!created && (!string.Equals(tenant.Currency, request.Currency, StringComparison.Ordinal) || !string.Equals(tenant.DisplayName, request.DisplayName, StringComparison.Ordinal)))
        {
            throw new RpcException(new Status(
                StatusCode.AlreadyExists, $"tenant '{request.TenantId}' already exists with currency {tenant.Currency} and display name '{tenant.DisplayName}'"));
        }

        return TenantMessage(tenant);
    }

    public async Task<Tenant> UpdateTenantAsync(UpdateTenantRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        if (request.HasDisplayName)
        {
            Provisioning.DirectoryValidator.DisplayName(request.DisplayName);
        }

        if (request.HasTimeZone && !IsKnownTimeZone(request.TimeZone))
        {
            throw RequestValidator.Invalid($"time_zone '{request.TimeZone}' is not an IANA time zone name this gateway knows (e.g. Europe/London)");
        }

        if (request.HasFundingExpiryMonths && request.FundingExpiryMonths is < MinExpiryMonths or > MaxExpiryMonths)
        {
            throw RequestValidator.Invalid($"funding_expiry_months must be between {MinExpiryMonths} and {MaxExpiryMonths} (got {request.FundingExpiryMonths})");
        }

        var updated = await tenants.UpdateAsync(
            request.TenantId,
            request.HasDisplayName ? request.DisplayName : null,
            request.HasTimeZone ? request.TimeZone : null,
            request.HasFundingExpiryMonths ? (int)request.FundingExpiryMonths : null,
            cancellationToken) ?? throw UnknownTenant(request.TenantId);
        await catalog.RefreshAsync(request.TenantId, cancellationToken);
        return TenantMessage(updated);
    }

    public async Task<AddFundsResponse> AddFundsAsync(AddFundsRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        RequestValidator.SessionId(request.IdempotencyKey, "idempotency_key");
        if (request.IdempotencyKey.StartsWith(RechargeWorker.FundingKeyPrefix, StringComparison.Ordinal))
        {
            // Fundings share one key space in Redis and the ledger; this prefix belongs to the recharge worker's own.
            throw RequestValidator.Invalid($"idempotency_key may not start with '{RechargeWorker.FundingKeyPrefix}': that prefix is reserved for automatic recharges");
        }

        RequestValidator.Text(request.Reference, "reference", required: false);
        var profile = await RequireTenantAsync(request.TenantId, cancellationToken);
        var currency = profile.Tenant.Currency;
        var amount = RequestValidator.PositiveAmount(request.Amount, "amount", currency, settings.MaxFundingMicros);
        if (amount < funding.MinimumOneOffMicros)
        {
            throw RequestValidator.Invalid(
                $"amount.amount_micros {amount} is below the minimum one-off funding of {funding.MinimumOneOffMicros} micro-units ({MajorUnits(funding.MinimumOneOffMicros)} {currency})");
        }

        // Redis forgets idempotency keys (after FundingKeyRetentionSeconds, or when it is lost); the ledger does not.
        var recorded = await FundedAmountAsync(request.TenantId, request.IdempotencyKey, cancellationToken);
        if (recorded is { } recordedMicros)
        {
            EnsureSameFunding(recordedMicros, amount, request.IdempotencyKey);
            var (balance, held) = await hotState.ReadBalanceAsync(request.TenantId, cancellationToken) ?? throw UnknownTenant(request.TenantId);
            return new AddFundsResponse { Funded = Money(recordedMicros, currency), Balance = BalanceView(balance, held, currency) };
        }

        var credit = new CreditRequest(
            LedgerEntryKind.Funding, amount, string.Empty, request.IdempotencyKey, request.Reference, RequestFingerprint.Of("AddFunds", Text(amount)),
            $"idempotency_key '{request.IdempotencyKey}'", LotSource.OneOffFunding, profile.Tenant.FundingExpiryMonths);
        var answer = await credits.CreditAsync(
            request.TenantId, HotStateKeys.Funding(request.TenantId, request.IdempotencyKey), credit, settings.FundingKeyRetentionSeconds, cancellationToken)
            ?? throw UnknownTenant(request.TenantId);
        return new AddFundsResponse
        {
            Funded = Money(answer.AmountMicros, currency),
            Balance = BalanceView(answer.BalanceAfterMicros, answer.HeldAfterMicros, currency),
        };
    }

    public async Task<AccountBalance> GetBalanceAsync(GetBalanceRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        var profile = await RequireTenantAsync(request.TenantId, cancellationToken);
        return await ledger.ReadBalanceAsync(profile, cancellationToken) ?? throw UnknownTenant(request.TenantId);
    }

    public async Task<ListLedgerEntriesResponse> ListLedgerEntriesAsync(ListLedgerEntriesRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        if (request.PageSize > settings.MaxLedgerPageSize)
        {
            throw RequestValidator.Invalid($"page_size must be at most {settings.MaxLedgerPageSize} (Accounts:MaxLedgerPageSize), got {request.PageSize}");
        }

        ValidTimestamp(request.OccurredFrom, "occurred_from");
        ValidTimestamp(request.OccurredBefore, "occurred_before");
        var profile = await RequireTenantAsync(request.TenantId, cancellationToken);
        var pageSize = request.PageSize == 0 ? DefaultLedgerPageSize : (int)request.PageSize;
        return await ledger.ListAsync(profile, request, pageSize, cancellationToken);
    }

    public async Task<AutoRecharge> SetAutoRechargeAsync(SetAutoRechargeRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        var profile = await RequireTenantAsync(request.TenantId, cancellationToken);
        return await autoRecharge.SetAsync(profile, request, funding.MinimumOneOffMicros, settings.MaxFundingMicros, cancellationToken);
    }

    public async Task<AutoRecharge> GetAutoRechargeAsync(GetAutoRechargeRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        return await autoRecharge.GetAsync(await RequireTenantAsync(request.TenantId, cancellationToken), cancellationToken);
    }

    public async Task<ImportRatesResponse> ImportRatesAsync(ImportRatesRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        if (request.Rows.Count is 0 or > RateRowValidator.MaxRowsPerImport)
        {
            throw RequestValidator.Invalid($"rows must hold 1 to {RateRowValidator.MaxRowsPerImport} rate rows (got {request.Rows.Count})");
        }

        await RequireTenantAsync(request.TenantId, cancellationToken);
        var candidates = request.Rows.Select(RateVersionCandidate.FromContract).ToList();
        return await StoreRatesAsync(request.TenantId, candidates, error => "rate import refused, nothing stored: " + error.Message, cancellationToken);
    }

    /// <summary>ImportRates from a rate file uploaded in chunks (accounts.proto, RateCsvChunk); errors name the file's line.</summary>
    public async Task<ImportRatesResponse> ImportRateCsvAsync(IAsyncEnumerable<RateCsvChunk> chunks, CancellationToken cancellationToken)
    {
        var upload = new RateCsvUpload(settings.MaxRateCsvBytes);
        var tenantId = await upload.ReadAsync(chunks, RequireTenantAsync, cancellationToken);
        return await StoreRatesAsync(tenantId, upload.Reader.Rows, error => upload.Reader.Describe(error).Message, cancellationToken);
    }

    /// <summary>
    /// The one import path: every rule of <see cref="RateRowValidator"/> over the whole import, then one transaction
    /// that notifies every gateway, then this gateway's tables. <paramref name="describe"/> words a refusal for the caller.
    /// </summary>
    private async Task<ImportRatesResponse> StoreRatesAsync(
        string tenantId,
        IReadOnlyList<RateVersionCandidate> candidates,
        Func<RateImportError, string> describe,
        CancellationToken cancellationToken)
    {
        if (RateRowValidator.ValidateImport(candidates) is { } error)
        {
            throw RequestValidator.Invalid(describe(error));
        }

        var versions = candidates.Select(candidate => candidate.ToRateVersion()).ToList();
        var revision = await tenants.ImportRatesAsync(tenantId, versions, cancellationToken) ?? throw UnknownTenant(tenantId);
        await catalog.RefreshAsync(tenantId, cancellationToken);
        return new ImportRatesResponse { ImportedRows = (uint)versions.Count, Revision = revision };
    }

    private async Task<TenantProfile> RequireTenantAsync(string tenantId, CancellationToken cancellationToken) =>
        await catalog.GetAsync(tenantId, cancellationToken) ?? throw UnknownTenant(tenantId);

    private async Task<long?> FundedAmountAsync(string tenantId, string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            // A funding of a detached month (LedgerPartitions) left its key in detached_fundings.
            """
            SELECT amount_micros FROM ledger_entries WHERE tenant_id = @tenantId AND kind = 1 AND reference = @idempotencyKey
            UNION ALL
            SELECT amount_micros FROM detached_fundings WHERE tenant_id = @tenantId AND reference = @idempotencyKey
            LIMIT 1
            """,
            new { tenantId, idempotencyKey },
            cancellationToken: cancellationToken));
    }

    private static void EnsureSameFunding(long recordedMicros, long requestedMicros, string idempotencyKey)
    {
        if (recordedMicros != requestedMicros)
        {
            throw new RpcException(new Status(
                StatusCode.FailedPrecondition, $"idempotency_key '{idempotencyKey}' was already used for a funding of {recordedMicros} micro-units, not {requestedMicros}"));
        }
    }

    private static Tenant TenantMessage(TenantRecord tenant) => new()
    {
        TenantId = tenant.TenantId,
        Currency = tenant.Currency,
        DisplayName = tenant.DisplayName,
        CreatedAt = Timestamp.FromDateTimeOffset(tenant.CreatedAt),
        TimeZone = tenant.TimeZone,
        FundingExpiryMonths = (uint)tenant.FundingExpiryMonths,
    };

    private static bool IsKnownTimeZone(string name) =>
        name.Length is > 0 and <= 64 && TimeZoneInfo.TryFindSystemTimeZoneById(name, out var zone) && zone.HasIanaId;

    private static void ValidTimestamp(Timestamp? timestamp, string field)
    {
        // Timestamp's own range: 0001-01-01 to 9999-12-31, nanos 0 to 999,999,999.
        if (timestamp is not null && (timestamp.Seconds < -62_135_596_800 || timestamp.Seconds > 253_402_300_799 || timestamp.Nanos is < 0 or > 999_999_999))
        {
            throw RequestValidator.Invalid($"{field} is not a valid timestamp");
        }
    }

    private static string MajorUnits(long micros) => (micros / 1_000_000m).ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);

    private static RpcException UnknownTenant(string tenantId) => new(new Status(StatusCode.NotFound, $"tenant '{tenantId}' does not exist"));
}
