namespace CommsCredits.Gateway.Accounts;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using Dapper;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Npgsql;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>The admin side: tenants, funds and rate tables. Errors are gRPC statuses (see accounts.proto).</summary>
public sealed class AccountAdministration(
    TenantRepository tenants,
    TenantCatalog catalog,
    HotState hotState,
    BalanceCredits credits,
    NpgsqlDataSource dataSource,
    IOptions<AccountsOptions> options)
{
    private const int MaxDisplayNameLength = 200;
    private readonly AccountsOptions settings = options.Value;

    public async Task<Tenant> CreateTenantAsync(CreateTenantRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        if (!Currency.IsValidCode(request.Currency))
        {
            throw RequestValidator.Invalid($"currency must be an ISO 4217 code of three upper-case letters (got '{request.Currency}')");
        }

        if (request.DisplayName.Length is 0 or > MaxDisplayNameLength || request.DisplayName.Any(char.IsControl))
        {
            throw RequestValidator.Invalid($"display_name must be 1 to {MaxDisplayNameLength} characters without control characters");
        }

        var (tenant, created) = await tenants.CreateAsync(request.TenantId, request.Currency, request.DisplayName, cancellationToken);
        if (!created && (!string.Equals(tenant.Currency, request.Currency, StringComparison.Ordinal) || !string.Equals(tenant.DisplayName, request.DisplayName, StringComparison.Ordinal)))
        {
            throw new RpcException(new Status(
                StatusCode.AlreadyExists, $"tenant '{request.TenantId}' already exists with currency {tenant.Currency} and display name '{tenant.DisplayName}'"));
        }

        return new Tenant
        {
            TenantId = tenant.TenantId,
            Currency = tenant.Currency,
            DisplayName = tenant.DisplayName,
            CreatedAt = Timestamp.FromDateTimeOffset(tenant.CreatedAt),
        };
    }

    public async Task<AddFundsResponse> AddFundsAsync(AddFundsRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        RequestValidator.SessionId(request.IdempotencyKey, "idempotency_key");
        RequestValidator.Text(request.Reference, "reference", required: false);
        var profile = await RequireTenantAsync(request.TenantId, cancellationToken);
        var currency = profile.Tenant.Currency;
        var amount = RequestValidator.PositiveAmount(request.Amount, "amount", currency, settings.MaxFundingMicros);

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
            $"idempotency_key '{request.IdempotencyKey}'");
        var answer = await credits.CreditAsync(
            request.TenantId, HotStateKeys.Funding(request.TenantId, request.IdempotencyKey), credit, settings.FundingKeyRetentionSeconds, cancellationToken)
            ?? throw UnknownTenant(request.TenantId);
        return new AddFundsResponse
        {
            Funded = Money(answer.AmountMicros, currency),
            Balance = BalanceView(answer.BalanceAfterMicros, answer.HeldAfterMicros, currency),
        };
    }

    public async Task<Balance> GetBalanceAsync(GetBalanceRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        var profile = await RequireTenantAsync(request.TenantId, cancellationToken);
        var (balance, held) = await hotState.ReadBalanceAsync(request.TenantId, cancellationToken) ?? throw UnknownTenant(request.TenantId);
        return BalanceView(balance, held, profile.Tenant.Currency);
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
            "SELECT amount_micros FROM ledger_entries WHERE tenant_id = @tenantId AND kind = 1 AND reference = @idempotencyKey LIMIT 1",
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

    private static RpcException UnknownTenant(string tenantId) => new(new Status(StatusCode.NotFound, $"tenant '{tenantId}' does not exist"));
}
