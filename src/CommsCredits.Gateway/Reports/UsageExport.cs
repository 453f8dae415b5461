namespace CommsCredits.Gateway.Reports;

using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Npgsql;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>
/// ExportUsage: the tenant's call_records whose call ended in the period, in (ended_at, epoch, session_number) order,
/// read in keyset-paged queries of Reports:PageSize rows and written to the stream as they are read.
/// </summary>
public sealed class UsageExport(TenantCatalog catalog, NpgsqlDataSource dataSource, ExportSlots slots, IOptions<ReportsOptions> options)
{
    private static readonly string[] TerminationCauses = TerminationCauseNames();

    private readonly ReportsOptions settings = options.Value;

    public async Task ExportAsync(ExportUsageRequest request, IServerStreamWriter<UsageRecord> records, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        var period = ReportPeriod.Parse(request.From, request.Before, settings.MaxPeriodDays);
        var after = request.After.Length == 0 ? (Epoch: 0L, SessionNumber: 0L) : ParseUsageId(request.After);
        var profile = await catalog.GetAsync(request.TenantId, cancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"tenant '{request.TenantId}' does not exist"));
        using var slot = slots.Take();
        LedgerStatement.RefuseDetachedPeriod(period.From, await LedgerPartitions.BoundaryAsync(dataSource, cancellationToken));
        // Every record is after (from, 0, 0): session numbers start at 1.
        (DateTimeOffset EndedAt, long Epoch, long SessionNumber) position = request.After.Length == 0
            ? (period.From, 0L, 0L)
            : (await EndedAtAsync(request.TenantId, after.Epoch, after.SessionNumber, cancellationToken), after.Epoch, after.SessionNumber);

        var currency = profile.Tenant.Currency;
        while (true)
        {
            var read = 0;
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
            {
                await using var command = new NpgsqlCommand(
                    """
                    SELECT c.epoch, c.session_number, c.session_id, c.call_type, c.calling_number, c.called_number, c.started_at, c.ended_at,
                           c.used_seconds, c.billed_seconds, c.charge_micros, c.uncharged_micros, c.destination_name, c.rated_prefix,
                           c.rate_per_minute_micros, c.connection_fee_micros, c.termination_cause, c.included_seconds, c.pool_id,
                           u.upn, u.display_name, u.location_country
                    FROM call_records c
                    LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.user_id = c.user_id COLLATE "C"
                    WHERE c.tenant_id = @tenant AND c.ended_at >= @from AND c.ended_at < @before
                      AND (c.ended_at, c.epoch, c.session_number) > (@after_ended, @after_epoch, @after_session)
                    ORDER BY c.ended_at, c.epoch, c.session_number
                    LIMIT @limit
                    """,
                    connection);
                command.Parameters.AddWithValue("tenant", request.TenantId);
                command.Parameters.AddWithValue("from", period.From);
                command.Parameters.AddWithValue("before", period.Before);
                command.Parameters.AddWithValue("after_ended", position.EndedAt);
                command.Parameters.AddWithValue("after_epoch", position.Epoch);
                command.Parameters.AddWithValue("after_session", position.SessionNumber);
                command.Parameters.AddWithValue("limit", settings.PageSize);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var record = Record(reader, currency);
                    position = (reader.GetFieldValue<DateTimeOffset>(7), reader.GetInt64(0), reader.GetInt64(1));
                    await records.WriteAsync(record, cancellationToken);
                    read++;
                }
            }

            if (read < settings.PageSize)
            {
                return;
            }
        }
    }

    private static UsageRecord Record(NpgsqlDataReader reader, string currency)
    {
        var callType = reader.GetInt16(3);
        var calling = reader.GetString(4);
        var called = reader.GetString(5);
        var used = reader.GetInt64(8);
        var included = reader.GetInt64(17);
        var poolId = reader.IsDBNull(18) ? string.Empty : reader.GetString(18);
        var country = reader.IsDBNull(21) ? string.Empty : reader.GetString(21);
        var tollFree = callType == (short)CallType.TollFreeInbound;
        // The fee is charged as soon as any second is used on credit (docs/rating.md); a pool's seconds carry none.
        var onCredit = used > included;
        var cause = reader.GetInt16(16);
        return new UsageRecord
        {
            UsageId = reader.GetInt64(0).ToString(CultureInfo.InvariantCulture) + "." + reader.GetInt64(1).ToString(CultureInfo.InvariantCulture),
            CallId = reader.GetString(2),
            UserLocation = country,
            Upn = reader.IsDBNull(19) ? string.Empty : reader.GetString(19),
            UserDisplayName = reader.IsDBNull(20) ? string.Empty : reader.GetString(20),
            CallerId = calling,
            CallType = callType switch { 1 => "user_out", 2 => "conf_out", _ => "user_in" },
            NumberType = tollFree ? "toll_free" : "user",
            DomesticInternational = CallingCodes.DomesticOrInternational(tollFree ? calling : called, country),
            DestinationDialed = reader.GetString(12),
            DestinationNumber = called,
            StartTime = Timestamp.FromDateTimeOffset(reader.GetFieldValue<DateTimeOffset>(6)),
            EndTime = Timestamp.FromDateTimeOffset(reader.GetFieldValue<DateTimeOffset>(7)),
            DurationSeconds = (ulong)used,
            ConnectionFee = Money(onCredit ? reader.GetInt64(15) : 0, currency),
            Charge = Money(reader.GetInt64(10), currency),
            Capability = onCredit || poolId.Length == 0 ? "communications_credits" : "included_minutes",
            IncludedSeconds = (ulong)included,
            PoolId = poolId,
            BilledSeconds = (ulong)reader.GetInt64(9),
            Uncharged = Money(reader.GetInt64(11), currency),
            RatedPrefix = reader.GetString(13),
            RatePerMinute = Money(reader.GetInt64(14), currency),
            TerminationCause = cause >= 0 && cause < TerminationCauses.Length ? TerminationCauses[cause] : cause.ToString(CultureInfo.InvariantCulture),
        };
    }

    private static (long Epoch, long SessionNumber) ParseUsageId(string after)
    {
        var dot = after.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0
            && long.TryParse(after.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            && long.TryParse(after.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var session)
            && session > 0)
        {
            return (epoch, session);
        }

        throw RequestValidator.Invalid("after is not a usage_id this API gave (\"epoch.session_number\" of the last record received)");
    }

    private async Task<DateTimeOffset> EndedAtAsync(string tenantId, long epoch, long sessionNumber, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT ended_at FROM call_records WHERE tenant_id = @tenant AND epoch = @epoch AND session_number = @session", connection);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("epoch", epoch);
        command.Parameters.AddWithValue("session", sessionNumber);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? reader.GetFieldValue<DateTimeOffset>(0)
            : throw RequestValidator.Invalid("after names no usage record of this tenant");
    }

    /// <summary>charging.proto's TerminationCause names without their prefix, by number; "EVENT" for 0 (a Debit event).</summary>
    private static string[] TerminationCauseNames()
    {
        var values = ChargingReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("TerminationCause").Values;
        var names = new string[values.Max(value => value.Number) + 1];
        foreach (var value in values)
        {
            names[value.Number] = value.Name.Replace("TERMINATION_CAUSE_", string.Empty, StringComparison.Ordinal);
        }

        names[0] = "EVENT";
        return names;
    }
}
