namespace CommsCredits.Gateway.Accounts;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Tenants;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using static CommsCredits.Gateway.Charging.AnswerBuilder;
using LedgerEntryMessage = CommsCredits.Contracts.V1.LedgerEntry;
using LedgerEntryKindMessage = CommsCredits.Contracts.V1.LedgerEntryKind;
using LotSourceMessage = CommsCredits.Contracts.V1.LotSource;

/// <summary>What administrators read of the money: the balance with its lots, and the ledger a page at a time.</summary>
public sealed class LedgerReader(HotState hotState, NpgsqlDataSource dataSource, TimeProvider timeProvider)
{
    /// <summary>Balance, held and lots from one Redis snapshot; each lot's purchase details from the ledger.</summary>
    public async Task<AccountBalance?> ReadBalanceAsync(TenantProfile profile, CancellationToken cancellationToken)
    {
        var tenantId = profile.Tenant.TenantId;
        var currency = profile.Tenant.Currency;
        string[] keys = [HotStateKeys.Account(tenantId), HotStateKeys.Lots(tenantId), HotStateKeys.LotExpiry(tenantId)];
        var reply = await hotState.RunAsync(tenantId, HotScriptName.ReadLots, keys, [], cancellationToken);
        if (reply is null)
        {
            return null;
        }

        var answer = new AccountBalance { Balance = BalanceView(Netstrings.ParseInteger(reply[1]!), Netstrings.ParseInteger(reply[2]!), currency) };
        var lots = new List<(EntryKey Id, long RemainingMicros, DateTimeOffset ExpiresAt)>();
        for (var index = 3; index + 2 < reply.Length; index += 3)
        {
            lots.Add((EntryKey.Parse(reply[index]!), Netstrings.ParseInteger(reply[index + 1]!), DateTimeOffset.FromUnixTimeMilliseconds(Netstrings.ParseInteger(reply[index + 2]!))));
        }

        var purchases = await ReadPurchasesAsync(tenantId, lots.ConvertAll(lot => lot.Id), cancellationToken);
        var now = timeProvider.GetUtcNow();
        foreach (var (id, remaining, expiresAt) in lots)
        {
            var lot = new FundingLot { LotId = id.ToString(), Remaining = Money(remaining, currency), ExpiresAt = Timestamp.FromDateTimeOffset(expiresAt), Expired = expiresAt <= now };
            // A lot whose funding is still on its way to the ledger has no purchase details yet.
            if (purchases.TryGetValue(id, out var purchase))
            {
                lot.Source = (LotSourceMessage)purchase.Source;
                lot.Amount = Money(purchase.AmountMicros, currency);
                lot.PurchasedAt = Timestamp.FromDateTimeOffset(purchase.PurchasedAt);
            }

            answer.Lots.Add(lot);
        }

        return answer;
    }

    /// <summary>One page of the tenant's ledger, in the order its entries were applied.</summary>
    public async Task<ListLedgerEntriesResponse> ListAsync(TenantProfile profile, ListLedgerEntriesRequest request, int pageSize, CancellationToken cancellationToken)
    {
        var after = request.PageToken.Length == 0 ? new EntryKey(0, 0) : ParsePageToken(request.PageToken);
        var tenantId = profile.Tenant.TenantId;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var entries = await ReadEntriesAsync(
            connection,
            tenantId,
            after,
            request.OccurredFrom?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
            request.OccurredBefore?.ToDateTimeOffset() ?? DateTimeOffset.MaxValue.AddDays(-1),
            pageSize + 1,
            cancellationToken);
        var response = new ListLedgerEntriesResponse();
        if (entries.Count > pageSize)
        {
            entries.RemoveAt(entries.Count - 1);
            response.NextPageToken = entries[^1].EntryId;
        }

        if (entries.Count > 0)
        {
            await AddDrawsAsync(connection, tenantId, entries, profile.Tenant.Currency, cancellationToken);
        }

        foreach (var entry in entries)
        {
            SetCurrency(entry, profile.Tenant.Currency);
        }

        response.Entries.AddRange(entries);
        return response;
    }

    private static EntryKey ParsePageToken(string token)
    {
        try
        {
            return EntryKey.Parse(token);
        }
        catch (Exception exception) when (exception is FormatException or OverflowException)
        {
            throw RequestValidator.Invalid("page_token is not a token this API gave (use next_page_token of the previous page)");
        }
    }

    /// <summary>
    /// Up to <paramref name="limit"/> entries after <paramref name="after"/> in entry-id order that occurred in
    /// [<paramref name="from"/>, <paramref name="before"/>), without their draws (<see cref="AddDrawsAsync"/>) and currency (<see cref="SetCurrency"/>).
    /// </summary>
    internal static async Task<List<LedgerEntryMessage>> ReadEntriesAsync(
        NpgsqlConnection connection, string tenantId, EntryKey after, DateTimeOffset from, DateTimeOffset before, int limit, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT e.epoch, e.operation_number, e.kind, e.amount_micros, e.occurred_at, e.session_id, e.request_number, e.reference,
                   e.note, l.source, l.expires_at
            FROM ledger_entries e
            LEFT JOIN funding_lots l USING (tenant_id, epoch, operation_number)
            WHERE e.tenant_id = @tenant AND (e.epoch, e.operation_number) > (@after_epoch, @after_operation)
              AND e.occurred_at >= @from AND e.occurred_at < @before
            ORDER BY e.epoch, e.operation_number
            LIMIT @limit
            """,
            connection);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("after_epoch", after.Epoch);
        command.Parameters.AddWithValue("after_operation", after.OperationNumber);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("before", before);
        command.Parameters.AddWithValue("limit", limit);
        var entries = new List<LedgerEntryMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var occurredAt = reader.GetFieldValue<DateTimeOffset>(4);
            var entry = new LedgerEntryMessage
            {
                EntryId = new EntryKey(reader.GetInt64(0), reader.GetInt64(1)).ToString(),
                Kind = (LedgerEntryKindMessage)reader.GetInt16(2),
                Amount = new Contracts.V1.Money { AmountMicros = reader.GetInt64(3) },
                OccurredAt = Timestamp.FromDateTimeOffset(occurredAt),
                SessionId = reader.IsDBNull(5) ? string.Empty : reader.GetString(5),
                RequestNumber = reader.IsDBNull(6) ? 0 : (uint)reader.GetInt64(6),
                Reference = reader.IsDBNull(7) ? string.Empty : reader.GetString(7),
                Note = reader.IsDBNull(8) ? string.Empty : reader.GetString(8),
            };
            if (!reader.IsDBNull(9))
            {
                entry.Lot = new FundingLot
                {
                    LotId = entry.EntryId,
                    Source = (LotSourceMessage)reader.GetInt16(9),
                    Amount = new Contracts.V1.Money { AmountMicros = entry.Amount.AmountMicros },
                    PurchasedAt = entry.OccurredAt,
                    ExpiresAt = Timestamp.FromDateTimeOffset(reader.GetFieldValue<DateTimeOffset>(10)),
                };
            }

            entries.Add(entry);
        }

        return entries;
    }

    internal static async Task AddDrawsAsync(NpgsqlConnection connection, string tenantId, List<LedgerEntryMessage> entries, string currency, CancellationToken cancellationToken)
    {
        var first = EntryKey.Parse(entries[0].EntryId);
        var last = EntryKey.Parse(entries[^1].EntryId);
        await using var command = new NpgsqlCommand(
            """
            SELECT epoch, operation_number, lot_epoch, lot_operation_number, amount_micros
            FROM lot_draws
            WHERE tenant_id = @tenant AND (epoch, operation_number) BETWEEN (@first_epoch, @first_operation) AND (@last_epoch, @last_operation)
            ORDER BY epoch, operation_number, lot_epoch, lot_operation_number
            """,
            connection);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("first_epoch", first.Epoch);
        command.Parameters.AddWithValue("first_operation", first.OperationNumber);
        command.Parameters.AddWithValue("last_epoch", last.Epoch);
        command.Parameters.AddWithValue("last_operation", last.OperationNumber);
        var byId = entries.ToDictionary(entry => entry.EntryId, StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // Entries outside the occurred_at filter fall in the same id range; they are not on the page.
            if (byId.TryGetValue(new EntryKey(reader.GetInt64(0), reader.GetInt64(1)).ToString(), out var entry))
            {
                entry.Draws.Add(new Contracts.V1.LotDraw { LotId = new EntryKey(reader.GetInt64(2), reader.GetInt64(3)).ToString(), Amount = Money(reader.GetInt64(4), currency) });
            }
        }
    }

    internal static void SetCurrency(LedgerEntryMessage entry, string currency)
    {
        entry.Amount.Currency = currency;
        if (entry.Lot is { } lot)
        {
            lot.Amount.Currency = currency;
        }
    }

    private async Task<Dictionary<EntryKey, (short Source, long AmountMicros, DateTimeOffset PurchasedAt)>> ReadPurchasesAsync(
        string tenantId, List<EntryKey> lots, CancellationToken cancellationToken)
    {
        var purchases = new Dictionary<EntryKey, (short, long, DateTimeOffset)>();
        if (lots.Count == 0)
        {
            return purchases;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT l.epoch, l.operation_number, l.source, l.amount_micros, l.purchased_at
            FROM funding_lots l
            JOIN unnest(@epochs, @operations) AS wanted(epoch, operation_number) USING (epoch, operation_number)
            WHERE l.tenant_id = @tenant
            """,
            connection);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("epochs", lots.ConvertAll(lot => lot.Epoch).ToArray());
        command.Parameters.AddWithValue("operations", lots.ConvertAll(lot => lot.OperationNumber).ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            purchases[new EntryKey(reader.GetInt64(0), reader.GetInt64(1))] = (reader.GetInt16(2), reader.GetInt64(3), reader.GetFieldValue<DateTimeOffset>(4));
        }

        return purchases;
    }
}
