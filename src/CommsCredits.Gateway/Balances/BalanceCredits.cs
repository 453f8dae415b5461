namespace CommsCredits.Gateway.Balances;

using CommsCredits.Gateway.Funding;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Money;
using CommsCredits.Grpc.Protocol;
using Microsoft.Extensions.Options;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>Adds money to balances: admin fundings and refund events, through credit.lua, durable before answered.</summary>
public sealed class BalanceCredits(HotState hotState, IOptions<FundingOptions> options, TimeProvider timeProvider)
{
    private readonly FundingOptions settings = options.Value;

    /// <summary>
    /// Adds money to a balance (a funding or a refund) and waits until the ledger holds it. Null when the tenant does
    /// not exist; FAILED_PRECONDITION when the request key already answered a different request.
    /// </summary>
    public async Task<CreditAnswer?> CreditAsync(string tenantId, string requestKey, CreditRequest credit, int retentionSeconds, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        string[] arguments =
        [
            credit.Fingerprint, Milliseconds(now), Text(credit.AmountMicros), Text((int)credit.Kind), credit.SessionId, credit.Reference,
            credit.Note, Text(MoneyLimits.MaxBalanceMicros), Text(retentionSeconds), Milliseconds(LotExpiry(now, credit.ExpiryMonths)), Text((int)credit.Source),
            Text(settings.MaxOpenLotsPerTenant), credit.PaysRecharge?.ToString() ?? string.Empty,
        ];
        string[] keys = [HotStateKeys.Account(tenantId), requestKey, HotStateKeys.Pending(tenantId), HotStateKeys.Lots(tenantId), HotStateKeys.LotExpiry(tenantId)];
        var reply = await hotState.RunAsync(tenantId, HotScriptName.Credit, keys, arguments, cancellationToken);
        switch (reply?[0])
        {
            case null:
                return null;
            case "balance_limit":
                throw new RpcException(new Status(
                    StatusCode.FailedPrecondition, $"the balance of tenant {tenantId} would exceed {MoneyLimits.MaxBalanceMicros} micro-units, the most one balance may hold"));
            case "lot_limit":
                throw new RpcException(new Status(
                    StatusCode.ResourceExhausted,
                    $"tenant {tenantId} already holds {settings.MaxOpenLotsPerTenant} funding lots with money left, the most allowed (Funding:MaxOpenLotsPerTenant)"));
        }

        var fields = Netstrings.Decode(reply![1]!);
        if (!string.Equals(fields[5], credit.Fingerprint, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(
                StatusCode.FailedPrecondition, $"{credit.RequestName} was already used for a different request; a retry must repeat the request exactly"));
        }

        await hotState.SettleAsync(tenantId, reply![2], cancellationToken);
        return new CreditAnswer(Netstrings.ParseInteger(fields[1]), Netstrings.ParseInteger(fields[2]), Netstrings.ParseInteger(fields[3]));
    }

    /// <summary>When a lot bought at <paramref name="purchasedAt"/> expires: the same moment, that many calendar months later (UTC).</summary>
    public static DateTimeOffset LotExpiry(DateTimeOffset purchasedAt, int expiryMonths) => purchasedAt.ToUniversalTime().AddMonths(expiryMonths);
}

/// <summary>
/// Money to add to a balance, with what the ledger records about it. RequestName says in words what identifies the
/// request ("idempotency_key 'k'"), for the refusal of a key reused for another request. The money becomes a lot of the
/// given source that expires ExpiryMonths after now.
/// </summary>
public sealed record CreditRequest(
    LedgerEntryKind Kind, long AmountMicros, string SessionId, string Reference, string Note, string Fingerprint, string RequestName, LotSource Source, int ExpiryMonths)
{
    /// <summary>The recharge request this funding pays: the ledger marks it succeeded in the funding's transaction.</summary>
    public EntryKey? PaysRecharge { get; init; }
}

/// <summary>What a credit did: the amount added, and the balance and held amount just after.</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
public readonly record struct CreditAnswer(long AmountMicros, long BalanceAfterMicros, long HeldAfterMicros);
