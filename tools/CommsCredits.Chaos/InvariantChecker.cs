namespace CommsCredits.Chaos;

using System.Diagnostics;
using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using Dapper;
using Npgsql;
using StackExchange.Redis;

/// <summary>The result of one check: the counts of the final line and every invariant that failed, by name.</summary>
public sealed record CheckResult(long Lost, long Doubled, IReadOnlyList<string> Failures);

/// <summary>
/// Checks every invariant once the load has stopped, against PostgreSQL and Redis directly (not through the gateway):
/// <list type="bullet">
/// <item>lost: a session whose ledger debits are less than the largest session_charged (or Debit charge) answered to the client;</item>
/// <item>doubled: a session whose ledger debits exceed what an acknowledged Terminate or Debit said it charged, or (when
/// none was acknowledged) the cost of all the usage the client reported, each request number counted once, under the
/// seeded tariff; or two ledger debits for one (tenant, session, request number);</item>
/// <item>every acknowledged Terminate or Debit has exactly one call record, with the acknowledged charge; no session has two;</item>
/// <item>money per tenant: the fundings in the ledger are those acknowledged, the ledger balance is not negative, nothing is
/// pending in Redis, Redis holds the ledger's balance, and its lots (and the ledger's) add up to it, lot by lot;</item>
/// <item>holds: after session supervision had time to act, no tenant has money held and no session is open;</item>
/// <item>sessions: a call answered UNKNOWN_SESSION_ID was closed by session supervision (its client was slower than
/// validity plus grace), never lost: sessions in progress survive the loss of Redis.</item>
/// <item>no handler failure: no gateway logged a gRPC handler failing (a bug, answered UNKNOWN, which the load takes for no
/// answer and retries, so only the log shows it).</item>
/// </list>
/// </summary>
public sealed class InvariantChecker(ChaosSettings settings, ChaosStack stack, Observations observations)
{
    public async Task<CheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        while (observations.Violations.TryDequeue(out var violation))
        {
            failures.Add(violation);
        }

        foreach (var gateway in stack.Gateways)
        {
            var handlerFailures = gateway.TakeHandlerFailures();
            if (handlerFailures > 0)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"handler failures: {gateway.Name} logged {handlerFailures} gRPC handler failures (see its log)"));
            }
        }

        using var redis = await ConnectAsync();
        var database = redis.GetDatabase();
        await WaitForPendingAsync(database, failures, cancellationToken);
        await LoadHotStateAsync(failures);
        await WaitForSupervisionAsync(database, failures, cancellationToken);

        // A connection of its own, not pooled: a pooled one may be a dead session of a PostgreSQL restarted since.
        await using var ledger = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(stack.LedgerConnectionString) { Pooling = false }.ConnectionString);
        await ledger.OpenAsync(cancellationToken);
        var (lost, doubled) = await CheckSessionsAsync(ledger, failures);
        foreach (var tenantId in stack.TenantIds)
        {
            await CheckMoneyAsync(ledger, database, tenantId, failures);
        }

        return new CheckResult(lost, doubled, failures);
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return await ConnectionMultiplexer.ConnectAsync(stack.Redis.Configuration + ",allowAdmin=true,connectTimeout=2000,syncTimeout=30000");
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Acknowledged settlements leave the pending hash at once; the sweeper settles the rest (killed gateways', refused ones).</summary>
    private async Task WaitForPendingAsync(IDatabase database, List<string> failures, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        long pending;
        do
        {
            pending = 0;
            foreach (var tenantId in stack.TenantIds)
            {
                pending += await database.HashLengthAsync(Key("pending", tenantId));
            }

            if (pending == 0)
            {
                Output.Line($"  settle: pending settlements swept after {stopwatch.Elapsed.TotalSeconds:0.0} s");
                return;
            }

            await Task.Delay(250, cancellationToken);
        }
        while (stopwatch.Elapsed < settings.SettleTimeout);

        failures.Add($"pending: {pending} settlements still pending in Redis {settings.SettleTimeout.TotalSeconds:0} s after the load stopped");
    }

    /// <summary>A tenant whose Redis state was lost is rebuilt by its next request: CheckBalance makes one, on each gateway.</summary>
    private async Task LoadHotStateAsync(List<string> failures)
    {
        foreach (var tenantId in stack.TenantIds)
        {
            foreach (var gateway in stack.Gateways)
            {
                try
                {
                    var answer = await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenantId }, new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(10)));
                    if (answer.ResultCode != ResultCode.Success || answer.Balance.Balance_.AmountMicros < 0)
                    {
                        failures.Add($"{tenantId}: CheckBalance on {gateway.Name} answered {answer.ResultCode}, balance {answer.Balance?.Balance_?.AmountMicros}");
                    }
                }
                catch (RpcException exception)
                {
                    failures.Add($"{tenantId}: CheckBalance on {gateway.Name} failed after the run: {exception.StatusCode} {exception.Status.Detail}");
                }
            }
        }
    }

    private async Task WaitForSupervisionAsync(IDatabase database, List<string> failures, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var server = database.Multiplexer.GetServer(stack.Redis.Configuration);
        while (true)
        {
            var holds = new List<string>();
            foreach (var tenantId in stack.TenantIds)
            {
                var held = (long?)await database.HashGetAsync(Key("account", tenantId), "held") ?? 0;
                var open = 0;
                // SCAN pages are read synchronously, so on a worker thread of their own: after an await this code may
                // be running on the multiplexer's reader thread, which would then wait for a reply only it can read.
                var pattern = Key("session:*", tenantId);
                var sessionKeys = await Task.Run(() => server.Keys(database.Database, pattern, pageSize: 1000).ToList(), cancellationToken);

                foreach (var key in sessionKeys)
                {
                    open += string.Equals(await database.HashGetAsync(key, "state"), "open", StringComparison.Ordinal) ? 1 : 0;
                }

                if (held != 0 || open != 0)
                {
                    holds.Add(string.Create(CultureInfo.InvariantCulture, $"{tenantId}: held {held} micros, {open} open sessions"));
                }
            }

            if (holds.Count == 0)
            {
                Output.Line($"  settle: no hold and no open session after {stopwatch.Elapsed.TotalSeconds:0.0} s");
                return;
            }

            if (stopwatch.Elapsed > settings.SupervisionTimeout)
            {
                failures.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"holds: {settings.SupervisionTimeout.TotalSeconds:0} s after the load stopped (validity {settings.ValiditySeconds} s), sessions are still open and hold money (is session supervision running?): {string.Join("; ", holds)}"));
                return;
            }

            await Task.Delay(500, cancellationToken);
        }
    }

    private async Task<(long Lost, long Doubled)> CheckSessionsAsync(NpgsqlConnection ledger, List<string> failures)
    {
        var debits = (await ledger.QueryAsync<(string TenantId, string SessionId, long Debited)>(
                "SELECT tenant_id, session_id, (-sum(amount_micros))::bigint FROM ledger_entries WHERE kind = 2 AND session_id IS NOT NULL GROUP BY tenant_id, session_id"))
            .ToDictionary(row => (row.TenantId, row.SessionId), row => row.Debited);
        var records = (await ledger.QueryAsync<(string TenantId, string SessionId, long Count, long Charged, short Cause)>(
                "SELECT tenant_id, session_id, count(*), max(charge_micros)::bigint, max(termination_cause) FROM call_records GROUP BY tenant_id, session_id"))
            .ToDictionary(row => (row.TenantId, row.SessionId), row => (row.Count, row.Charged, row.Cause));
        long lost = 0;
        long doubled = 0;
        foreach (var session in observations.Sessions)
        {
            var key = (session.TenantId, session.SessionId);
            var debited = debits.GetValueOrDefault(key);
            if (debited < session.MaxAckedChargedMicros)
            {
                lost++;
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"lost: {session.TenantId} {session.SessionId}: the client was told {session.MaxAckedChargedMicros} micros were charged, the ledger holds {debited}"));
            }

            var bound = session.FinalAckedChargedMicros ?? session.MaxChargeableMicros;
            if (debited > bound)
            {
                doubled++;
                failures.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"doubled: {session.TenantId} {session.SessionId}: the ledger debited {debited} micros, more than {bound} ({(session.FinalAckedChargedMicros is null ? "the cost of the usage reported" : "the acknowledged charge")})"));
            }

            var (count, charged, cause) = records.GetValueOrDefault(key);
            if (session.EndedByUnknownSession && cause != (short)TerminationCause.SupervisionTimeout)
            {
                failures.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"sessions: {session.TenantId} {session.SessionId}: answered UNKNOWN_SESSION_ID, but supervision did not close it ({count} call records): the session was lost"));
            }

            if (count > 1 || (session.FinalAckedChargedMicros is { } final && (count != 1 || charged != final)))
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"call records: {session.TenantId} {session.SessionId}: {count} records (charge {charged}), acknowledged {session.FinalAckedChargedMicros}"));
            }
        }

        foreach (var row in await ledger.QueryAsync<(string TenantId, string SessionId, long RequestNumber, long Count)>(
                     """
                     SELECT tenant_id, session_id, request_number, count(*) FROM ledger_entries
                     WHERE kind = 2 AND session_id IS NOT NULL GROUP BY tenant_id, session_id, request_number HAVING count(*) > 1
                     """))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"duplicate debits: {row.TenantId} {row.SessionId} #{row.RequestNumber}: {row.Count} ledger entries"));
        }

        return (lost, doubled);
    }

    private async Task CheckMoneyAsync(NpgsqlConnection ledger, IDatabase database, string tenantId, List<string> failures)
    {
        var (sum, funded) = await ledger.QuerySingleAsync<(long Sum, long Funded)>(
            "SELECT coalesce(sum(amount_micros), 0)::bigint, coalesce(sum(amount_micros) FILTER (WHERE kind = 1), 0)::bigint FROM ledger_entries WHERE tenant_id = @tenantId",
            new { tenantId });
        if (funded != stack.FundedMicrosPerTenant)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"money: {tenantId}: the ledger holds {funded} micros of fundings, {stack.FundedMicrosPerTenant} were acknowledged"));
        }

        if (sum < 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"money: {tenantId}: negative ledger balance {sum}"));
        }

        var ledgerLots = await LedgerLotsAsync(ledger, tenantId);
        if (ledgerLots.Values.Sum() != sum)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"money: {tenantId}: the ledger's lots add up to {ledgerLots.Values.Sum()}, its entries to {sum}"));
        }

        var balance = await database.HashGetAsync(Key("account", tenantId), "balance");
        if (balance.IsNull)
        {
            failures.Add($"money: {tenantId}: Redis holds no account after CheckBalance");
            return;
        }

        var redisLots = (await database.HashGetAllAsync(Key("lots", tenantId)))
            .Where(entry => (long)entry.Value != 0)
            .ToDictionary(entry => (string)entry.Name!, entry => (long)entry.Value, StringComparer.Ordinal);
        if ((long)balance != sum || redisLots.Values.Sum() != sum || !SameLots(redisLots, ledgerLots))
        {
            failures.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"money: {tenantId}: ledger balance {sum}, Redis balance {(long)balance}, Redis lots {redisLots.Values.Sum()} ({redisLots.Count} lots, ledger {ledgerLots.Count})"));
        }
    }

    private static bool SameLots(Dictionary<string, long> redisLots, Dictionary<string, long> ledgerLots) =>
        redisLots.Count == ledgerLots.Count && redisLots.All(lot => ledgerLots.TryGetValue(lot.Key, out var remaining) && remaining == lot.Value);

    private static async Task<Dictionary<string, long>> LedgerLotsAsync(NpgsqlConnection ledger, string tenantId)
    {
        var rows = await ledger.QueryAsync<(long Epoch, long Operation, long Remaining)>(
            """
            SELECT l.epoch, l.operation_number,
                   l.amount_micros - coalesce((SELECT sum(d.amount_micros) FROM lot_draws d
                                               WHERE d.tenant_id = l.tenant_id AND d.lot_epoch = l.epoch
                                                 AND d.lot_operation_number = l.operation_number), 0)::bigint
            FROM funding_lots l WHERE l.tenant_id = @tenantId
            """,
            new { tenantId });
        return rows.Where(row => row.Remaining != 0)
            .ToDictionary(row => string.Create(CultureInfo.InvariantCulture, $"{row.Epoch}.{row.Operation}"), row => row.Remaining, StringComparer.Ordinal);
    }

    /// <summary>The tenant's Redis keys (docs/charging.md: all under the tenant's hash tag).</summary>
    private static string Key(string name, string tenantId) => "cc:{" + tenantId + "}:" + name;
}
