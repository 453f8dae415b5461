namespace CommsCredits.Gateway.Reports;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Accounts;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Ledger;
using LedgerEntryKind = CommsCredits.Contracts.V1.LedgerEntryKind;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Npgsql;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>
/// ExportLedgerStatement: the opening balance (every entry before `from`), the period's entries in entry-id order
/// with the balance after each, read a page of Reports:PageSize at a time with <see cref="LedgerReader"/>'s queries,
/// and the closing balance with the sums by kind.
/// </summary>
public sealed class LedgerStatement(TenantCatalog catalog, NpgsqlDataSource dataSource, ExportSlots slots, IOptions<ReportsOptions> options)
{
    private readonly ReportsOptions settings = options.Value;

    public async Task ExportAsync(ExportLedgerStatementRequest request, IServerStreamWriter<StatementLine> lines, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        var period = ReportPeriod.Parse(request.From, request.Before, settings.MaxPeriodDays);
        var profile = await catalog.GetAsync(request.TenantId, cancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"tenant '{request.TenantId}' does not exist"));
        using var slot = slots.Take();
        var currency = profile.Tenant.Currency;
        var tenantId = request.TenantId;
        long balance;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            // The detached months (LedgerPartitions) are all before the boundary: a period from it on opens with their
            // checkpoint plus the attached entries before it, read in one statement (one snapshot, after the table's lock).
            await using var command = new NpgsqlCommand(
                $"""
                SELECT ({LedgerPartitions.BoundarySql}),
                       ((SELECT coalesce(sum(amount_micros), 0) FROM ledger_entries WHERE tenant_id = @tenant AND occurred_at < @from)
                        + {LedgerPartitions.CheckpointBalanceSql})::bigint
                """,
                connection);
            command.Parameters.AddWithValue("tenant", tenantId);
            command.Parameters.AddWithValue("from", period.From);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            RefuseDetachedPeriod(period.From, reader.IsDBNull(0) ? null : reader.GetFieldValue<DateTimeOffset>(0));
            balance = reader.GetInt64(1);
        }

        await lines.WriteAsync(
            new StatementLine { Opening = new StatementOpening { Balance = Money(balance, currency), From = request.From, Before = request.Before } },
            cancellationToken);
        var sums = new long[5];
        ulong count = 0;
        var after = new EntryKey(0, 0);
        while (true)
        {
            List<Contracts.V1.LedgerEntry> entries;
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
            {
                entries = await LedgerReader.ReadEntriesAsync(connection, tenantId, after, period.From, period.Before, settings.PageSize, cancellationToken);
                if (entries.Count > 0)
                {
                    await LedgerReader.AddDrawsAsync(connection, tenantId, entries, currency, cancellationToken);
                }
            }

            foreach (var entry in entries)
            {
                LedgerReader.SetCurrency(entry, currency);
                balance += entry.Amount.AmountMicros;
                var kind = (int)entry.Kind;
                if (kind is > 0 and < 5)
                {
                    sums[kind] += entry.Amount.AmountMicros;
                }

                count++;
                await lines.WriteAsync(new StatementLine { Entry = new StatementEntry { Entry = entry, BalanceAfter = Money(balance, currency) } }, cancellationToken);
            }

            if (entries.Count < settings.PageSize)
            {
                break;
            }

            after = EntryKey.Parse(entries[^1].EntryId);
        }

        await lines.WriteAsync(
            new StatementLine
            {
                Closing = new StatementClosing
                {
                    Balance = Money(balance, currency),
                    EntryCount = count,
                    Funded = Money(sums[(int)LedgerEntryKind.Funding], currency),
                    Debited = Money(sums[(int)LedgerEntryKind.Debit], currency),
                    Refunded = Money(sums[(int)LedgerEntryKind.Refund], currency),
                    Expired = Money(sums[(int)LedgerEntryKind.Expiry], currency),
                },
            },
            cancellationToken);
    }

    /// <summary>A period that starts in a detached month cannot be stated from the ledger: its entries are in the archive.</summary>
    internal static void RefuseDetachedPeriod(DateTimeOffset from, DateTimeOffset? boundary)
    {
        if (boundary is { } attachedFrom && from < attachedFrom)
        {
            throw new RpcException(new Status(
                StatusCode.FailedPrecondition,
                FormattableString.Invariant($"the months before {attachedFrom.UtcDateTime:yyyy-MM} were detached from the ledger and archived (`partitions list`): ask for a period from {attachedFrom.UtcDateTime:yyyy-MM-dd} on")));
        }
    }
}
