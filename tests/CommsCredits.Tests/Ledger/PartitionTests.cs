namespace CommsCredits.Tests.Ledger;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Reconciliation;
using CommsCredits.Gateway.Storage;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Infrastructure;
using CommsCredits.Tests.Reports;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;
using LedgerEntryKind = CommsCredits.Gateway.Ledger.LedgerEntryKind;
using LotDraw = CommsCredits.Gateway.Ledger.LotDraw;
using LotSource = CommsCredits.Gateway.Ledger.LotSource;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

/// <summary>
/// The monthly partitions of ledger_entries and call_records (migration 0010, LedgerPartitions): an existing ledger
/// converts with every row, a settlement still lands once, months are created before (or when) rows arrive, and a
/// detached month changes no balance, hold, funding key or reconciliation, and can never be counted twice.
/// </summary>
public sealed class PartitionTests
{
    private static readonly DateTimeOffset January = new(2026, 1, 20, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset March = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The day the partition tests detach on: January and February may go, March and April stay.</summary>
    private static readonly DateTimeOffset DetachDay = new(2026, 4, 15, 0, 0, 0, TimeSpan.Zero);

    private static readonly DateOnly FirstOfJanuary = new(2026, 1, 1);

    /// <summary>The boundary the partition tests detach before: January goes.</summary>
    private static readonly DateOnly FirstOfFebruary = new(2026, 2, 1);

    [Fact]
    public async Task A_database_at_0009_with_rows_migrates_to_partitioned_tables_with_every_row()
    {
        // Proves the conversion of 0010: a ledger of two months (a funding with its lot, a debit with its draw and its call
        // record) written under schema 0009 comes out with the same rows, sums and lots, in monthly partitions.
        var servers = await TestServers.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("partitions"));
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
            foreach (var migration in SchemaMigrator.EmbeddedMigrations.Where(migration => migration.Version <= 9))
            {
                await connection.ExecuteAsync(migration.Sql);
                await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name, checksum) VALUES (@Version, @Name, @Checksum)", migration);
            }

            await connection.ExecuteAsync(
                """
                INSERT INTO tenants (tenant_id, currency, display_name, hot_epoch) VALUES ('old', 'EUR', 'Old', 1);
                INSERT INTO ledger_entries (tenant_id, epoch, operation_number, kind, amount_micros, reference, occurred_at) VALUES
                    ('old', 1, 1, 1, 100000, 'key-1', '2026-01-31T23:59:59.999Z');
                INSERT INTO ledger_entries (tenant_id, epoch, operation_number, kind, amount_micros, session_id, request_number,
                                            session_number, session_epoch, occurred_at) VALUES
                    ('old', 1, 2, 2, -30000, 's-1', 1, 1, 1, '2026-02-01T00:00:00Z');
                INSERT INTO funding_lots VALUES ('old', 1, 1, 100000, 1, '2026-01-31T23:59:59.999Z', '2027-01-31T23:59:59.999Z');
                INSERT INTO lot_draws VALUES ('old', 1, 2, 1, 1, 30000);
                INSERT INTO call_records (tenant_id, epoch, session_number, session_id, user_id, call_type, calling_number, called_number,
                                          started_at, ended_at, used_seconds, billed_seconds, charge_micros, uncharged_micros, currency,
                                          destination_name, rated_prefix, rate_per_minute_micros, connection_fee_micros,
                                          first_increment_seconds, next_increment_seconds, rate_effective_from, termination_cause)
                VALUES ('old', 1, 1, 's-1', 'u', 1, '+1', '+44', '2026-01-31T23:59:00Z', '2026-02-01T00:00:00Z', 60, 60, 30000, 0, 'EUR',
                        'UK', '44', 30000, 0, 60, 60, '2020-01-01Z', 1);
                """);
        }

        (await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).ApplyAsync(CancellationToken.None)).ShouldBe(SchemaMigrator.EmbeddedMigrations.Count - 9);

        await using var check = await dataSource.OpenConnectionAsync();
        (await check.QuerySingleAsync<(long, long)>("SELECT count(*), sum(amount_micros)::bigint FROM ledger_entries")).ShouldBe((2L, 70_000L));
        (await check.QueryAsync<string>("SELECT tableoid::regclass::text FROM ledger_entries ORDER BY operation_number"))
            .ShouldBe(["ledger_entries_p202601", "ledger_entries_p202602"]);
        (await check.ExecuteScalarAsync<string>("SELECT tableoid::regclass::text FROM call_records")).ShouldBe("call_records_p202602");
        (await check.ExecuteScalarAsync<string>("SELECT relkind::text FROM pg_class WHERE relname = 'ledger_entries'")).ShouldBe("p");
        (await check.ExecuteScalarAsync<long>("SELECT count(*) FROM funding_lots")).ShouldBe(1);
        (await check.ExecuteScalarAsync<long>("SELECT count(*) FROM lot_draws")).ShouldBe(1);
        (await check.ExecuteScalarAsync<string>("SELECT reference FROM ledger_entries WHERE kind = 1")).ShouldBe("key-1");
    }

    [Fact]
    public async Task A_settlement_decoded_and_written_twice_at_a_month_boundary_lands_once()
    {
        // Proves that the partition column cannot split a settlement in two: occurred_at (and the call's ended_at) come
        // from the text the script stored, so two decodes of it (the request and the sweeper, say), written in separate
        // batches one millisecond before midnight at a month's end, are one row, in one partition; and a month no
        // partition was made for yet (two years ahead) is created when its first row arrives.
        var (dataSource, store) = await NewLedgerAsync("boundary", epoch: 4);
        await using (dataSource)
        {
            var lastMillisecond = new DateTimeOffset(2026, 11, 30, 23, 59, 59, 999, TimeSpan.Zero);
            var encoded = EncodeDebit(epoch: 4, operation: 7, lastMillisecond, amountMicros: -25_000);
            var first = SettlementCodec.Decode("boundary", encoded);
            var second = SettlementCodec.Decode("boundary", encoded);
            second.OccurredAt.ShouldBe(first.OccurredAt);

            (await store.WriteBatchAsync([first], CancellationToken.None)).ShouldBe([SettlementOutcome.Committed]);
            (await store.WriteBatchAsync([second, first], CancellationToken.None)).ShouldBe([SettlementOutcome.Committed, SettlementOutcome.Committed]);
            var farAhead = SettlementCodec.Decode("boundary", EncodeDebit(epoch: 4, operation: 8, lastMillisecond.AddYears(2), amountMicros: -5_000));
            (await store.WriteBatchAsync([farAhead, farAhead], CancellationToken.None)).ShouldBe([SettlementOutcome.Committed, SettlementOutcome.Committed]);

            await using var connection = await dataSource.OpenConnectionAsync();
            (await connection.QueryAsync<(string, long)>("SELECT tableoid::regclass::text, amount_micros FROM ledger_entries ORDER BY operation_number"))
                .ShouldBe([("ledger_entries_p202611", -25_000L), ("ledger_entries_p202811", -5_000L)]);
        }
    }

    [Fact]
    public async Task A_copy_of_a_settlement_of_a_detached_month_is_refused_not_counted_twice()
    {
        // Proves the double-charge guard across partitions: once January is detached and carried into the checkpoint, a late
        // copy of one of its settlements (or a new one dated January) cannot land anywhere, since the month cannot be
        // created again and there is no default partition; the balance stays what it was, and the funding's key is kept.
        var (dataSource, store) = await NewLedgerAsync("late", epoch: 2);
        await using (dataSource)
        {
            var debit = await WriteJanuaryAndMarchAsync(store, "late");
            var partitions = await PartitionsAsync(dataSource);

            var detached = await partitions.DetachBeforeAsync(FirstOfFebruary, CancellationToken.None);

            detached.Select(month => (month.Month, month.EntryCount, month.AmountMicros)).ShouldBe([(FirstOfJanuary, (long?)2, (long?)990_000)]);
            var copy = await Should.ThrowAsync<PostgresException>(() => store.WriteBatchAsync([debit], CancellationToken.None));
            copy.SqlState.ShouldBe(PostgresErrorCodes.ObjectNotInPrerequisiteState);
            copy.MessageText.ShouldContain("2026-01 is detached");
            var newInJanuary = new Settlement("late", 2, 4, January, Debit(-1_000), null, null);
            await Should.ThrowAsync<PostgresException>(() => store.WriteBatchAsync([newInJanuary], CancellationToken.None));
            await using var connection = await dataSource.OpenConnectionAsync();
            (await connection.QuerySingleAsync<(long, long, long)>(
                """
                SELECT (SELECT sum(amount_micros) FROM ledger_entries)::bigint, balance_micros, funded_micros FROM ledger_checkpoints WHERE tenant_id = 'late'
                """)).ShouldBe((-20_000L, 990_000L, 1_000_000L));
            (await connection.ExecuteScalarAsync<long>("SELECT amount_micros FROM detached_fundings WHERE reference = 'key-late'")).ShouldBe(1_000_000);
            (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger_entries_p202601")).ShouldBe(2, "the detached table stays for archiving");
            (await partitions.DetachBeforeAsync(FirstOfFebruary, CancellationToken.None)).ShouldBeEmpty();
            (await partitions.ListAsync(CancellationToken.None))[0].ShouldSatisfyAllConditions(
                month => month.Month.ShouldBe(FirstOfJanuary), month => month.Detached.ShouldBeTrue());
        }
    }

    [Fact]
    public async Task While_a_detach_sums_its_months_other_months_are_written_and_the_sealed_month_takes_nothing()
    {
        // Proves that a detach holds the ledger only for its last step, whatever the months hold: with its sums held up
        // (the test keeps session_steps locked, which the sums read and which a plain debit does not touch), a debit of
        // March commits, one dated January is refused by January's seal, and January shows as sealed; once the sums go
        // on, January is detached with exactly what it held before, its seal is gone, and March's debits stay attached.
        // Before the seal, the detach held ledger_entries exclusively while it summed, and the March debit waited.
        var (dataSource, store) = await NewLedgerAsync("sealed", epoch: 2);
        await using (dataSource)
        {
            await WriteJanuaryAndMarchAsync(store, "sealed");
            var partitions = await PartitionsAsync(dataSource);
            await using var hold = await HoldSessionStepsAsync(dataSource);

            var detach = partitions.DetachBeforeAsync(FirstOfFebruary, CancellationToken.None);
            await WaitUntilSealedAsync(partitions, FirstOfJanuary, sealedNow: true);
            var march = new Settlement("sealed", 2, 4, March.AddDays(1), Debit(-5_000), null, null);
            (await store.WriteBatchAsync([march], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)))
                .ShouldBe([SettlementOutcome.Committed], "a month the detach does not take is written while it sums");
            var lateJanuary = new Settlement("sealed", 2, 5, January.AddDays(2), Debit(-1_000), null, null);
            var refused = await Should.ThrowAsync<PostgresException>(() => store.WriteBatchAsync([lateJanuary], CancellationToken.None));
            refused.SqlState.ShouldBe(PostgresErrorCodes.CheckViolation);
            refused.ConstraintName.ShouldBe("ledger_entries_p202601_sealed");
            detach.IsCompleted.ShouldBeFalse("the detach waits for session_steps, which the test holds");

            await hold.ReleaseAsync();
            var detached = await detach.WaitAsync(TimeSpan.FromSeconds(30));
            detached.Select(month => (month.Month, month.EntryCount, month.AmountMicros, month.Sealed))
                .ShouldBe([(FirstOfJanuary, (long?)2, (long?)990_000, false)]);
            await using var connection = await dataSource.OpenConnectionAsync();
            (await connection.QuerySingleAsync<(long, long, long)>(
                "SELECT (SELECT sum(amount_micros) FROM ledger_entries)::bigint, balance_micros, entry_count FROM ledger_checkpoints WHERE tenant_id = 'sealed'"))
                .ShouldBe((-25_000L, 990_000L, 2L));
            (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_constraint WHERE right(conname, 7) = '_sealed'")).ShouldBe(0, "the archived tables keep no seal");
            (await connection.ExecuteScalarAsync<long>("SELECT amount_micros FROM detached_fundings WHERE reference = 'key-sealed'")).ShouldBe(1_000_000);
        }
    }

    [Fact]
    public async Task A_detach_is_refused_while_Redis_holds_a_settlement_of_its_months_that_the_ledger_lacks()
    {
        // Proves the lost-charge guard of a detach: a January debit applied in Redis but not in the ledger (pending, as a
        // gateway that died before its commit leaves it) stops a detach of January before anything is sealed, and the
        // refusal names it; a pending debit of March, after the boundary, does not count. Once the January debit is
        // written and out of the pending hash (as the writer leaves it), the detach goes on and its checkpoint holds the
        // debit. Before the guard, January was detached without it, and the debit could never be written afterwards.
        var (dataSource, store) = await NewLedgerAsync("pending", epoch: 2);
        await using (dataSource)
        {
            await store.WriteBatchAsync([JanuaryFunding("pending")], CancellationToken.None);
            var (_, redisConfiguration) = await HotStore.Value;
            using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redisConfiguration);
            var pendingKey = HotStateKeys.Pending("pending");
            var januaryDebit = EncodeDebit(epoch: 2, operation: 2, January.AddDays(1), amountMicros: -10_000);
            await redis.GetDatabase().HashSetAsync(pendingKey, [new("2", januaryDebit), new("3", EncodeDebit(epoch: 2, operation: 3, March, amountMicros: -20_000))]);
            try
            {
                var partitions = await PartitionsAsync(dataSource);

                var refused = await Should.ThrowAsync<PartitionRefusedException>(() => partitions.DetachBeforeAsync(FirstOfFebruary, CancellationToken.None));
                refused.Message.ShouldContain("1 settlement dated before 2026-02 is pending in Redis");
                refused.Message.ShouldContain("tenant pending operation 2 of 2026-01-21T12:00:00.000Z");
                var january = await JanuaryAsync(partitions);
                (january.Sealed, january.Detached).ShouldBe((false, false), "nothing is sealed before the pending settlements are checked");

                (await store.WriteBatchAsync([SettlementCodec.Decode("pending", januaryDebit)], CancellationToken.None)).ShouldBe([SettlementOutcome.Committed]);
                await redis.GetDatabase().HashDeleteAsync(pendingKey, "2");
                var detached = await partitions.DetachBeforeAsync(FirstOfFebruary, CancellationToken.None);

                detached.Select(month => (month.Month, month.EntryCount, month.AmountMicros)).ShouldBe([(FirstOfJanuary, (long?)2, (long?)990_000)]);
                await using var connection = await dataSource.OpenConnectionAsync();
                (await connection.ExecuteScalarAsync<long>("SELECT balance_micros FROM ledger_checkpoints WHERE tenant_id = 'pending'")).ShouldBe(990_000);
            }
            finally
            {
                await redis.GetDatabase().KeyDeleteAsync(pendingKey);
            }
        }
    }

    [Fact]
    public async Task A_detach_whose_seal_is_removed_while_it_sums_is_refused_and_detaches_nothing()
    {
        // Proves the last step's check of the seals: if a seal is taken off while the months are summed (by an operator,
        // or by another detach of the same months that failed and unsealed them), a January settlement could have been
        // written after the sums, so the detach refuses, naming the seal, and leaves January attached, unsealed and
        // writable, with no checkpoint. The test holds the sums up at session_steps and drops January's seal meanwhile.
        var (dataSource, store) = await NewLedgerAsync("reopened", epoch: 2);
        await using (dataSource)
        {
            await store.WriteBatchAsync([JanuaryFunding("reopened")], CancellationToken.None);
            var partitions = await PartitionsAsync(dataSource);
            await using var hold = await HoldSessionStepsAsync(dataSource);
            var detach = partitions.DetachBeforeAsync(FirstOfFebruary, CancellationToken.None);
            await WaitUntilSealedAsync(partitions, FirstOfJanuary, sealedNow: true);
            await using var operatorConnection = await dataSource.OpenConnectionAsync();
            var unseal = operatorConnection.ExecuteAsync("ALTER TABLE ledger_entries_p202601 DROP CONSTRAINT ledger_entries_p202601_sealed");

            await hold.ReleaseAsync();
            var refused = await Should.ThrowAsync<PartitionRefusedException>(() => detach.WaitAsync(TimeSpan.FromSeconds(30)));
            await unseal.WaitAsync(TimeSpan.FromSeconds(30));

            refused.Message.ShouldContain("the seal of ledger_entries_p202601 was removed while its month was summed");
            var january = await JanuaryAsync(partitions);
            (january.Sealed, january.Detached).ShouldBe((false, false));
            var late = new Settlement("reopened", 2, 2, January.AddDays(3), Debit(-1_000), null, null);
            (await store.WriteBatchAsync([late], CancellationToken.None)).ShouldBe([SettlementOutcome.Committed]);
            await using var connection = await dataSource.OpenConnectionAsync();
            (await connection.QuerySingleAsync<(long, long)>(
                "SELECT (SELECT count(*) FROM ledger_checkpoints WHERE tenant_id = 'reopened'), (SELECT sum(amount_micros) FROM ledger_entries WHERE tenant_id = 'reopened')::bigint"))
                .ShouldBe((0L, 999_000L));
        }
    }

    [Fact]
    public async Task A_detach_stopped_after_sealing_takes_its_seals_off_and_the_month_is_written_again()
    {
        // Proves that a detach that does not finish leaves the ledger as it was: cancelled while it sums, it removes January's
        // seal, January is attached and takes a late settlement again, and nothing reached the checkpoints.
        var (dataSource, store) = await NewLedgerAsync("unsealed", epoch: 2);
        await using (dataSource)
        {
            await store.WriteBatchAsync([JanuaryFunding("unsealed")], CancellationToken.None);
            var partitions = await PartitionsAsync(dataSource);
            await using var hold = await HoldSessionStepsAsync(dataSource);
            using var stop = new CancellationTokenSource();

            var detach = partitions.DetachBeforeAsync(FirstOfFebruary, stop.Token);
            await WaitUntilSealedAsync(partitions, FirstOfJanuary, sealedNow: true);
            await stop.CancelAsync();
            (await Should.ThrowAsync<Exception>(() => detach)).ShouldBeAssignableTo<OperationCanceledException>();
            await hold.ReleaseAsync();

            var january = await JanuaryAsync(partitions);
            (january.Detached, january.Sealed).ShouldBe((false, false));
            var late = new Settlement("unsealed", 2, 2, January.AddDays(1), Debit(-10_000), null, null);
            (await store.WriteBatchAsync([late], CancellationToken.None)).ShouldBe([SettlementOutcome.Committed]);
            await using var connection = await dataSource.OpenConnectionAsync();
            (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM ledger_checkpoints")).ShouldBe(0);
            (await connection.ExecuteScalarAsync<long>("SELECT sum(amount_micros)::bigint FROM ledger_entries_p202601")).ShouldBe(990_000);
        }
    }

    [Fact]
    public async Task Detaching_the_current_or_previous_month_or_a_bad_month_is_refused_with_exit_2()
    {
        // Proves the refusals: the month before the current one must stay attached (late settlements land there), and the
        // command rejects a malformed month, a missing --before and an unknown action before touching anything.
        var (dataSource, _) = await NewLedgerAsync("refused", epoch: 1);
        await using (dataSource)
        {
            var partitions = await PartitionsAsync(dataSource);
            var refused = await Should.ThrowAsync<PartitionRefusedException>(() => partitions.DetachBeforeAsync(new DateOnly(2026, 4, 1), CancellationToken.None));
            refused.Message.ShouldContain("--before may be 2026-03 at the latest");
            await Should.ThrowAsync<PartitionRefusedException>(() => partitions.DetachBeforeAsync(new DateOnly(2026, 5, 1), CancellationToken.None));
        }

        foreach (var arguments in new[] { new[] { "detach", "--before", "2026-13" }, ["detach"], ["list", "--before", "2026-01"], ["shrink"], ["detach", "--after", "2026-01"] })
        {
            using var output = new StringWriter();
            using var errors = new StringWriter();
            (await PartitionsCommand.RunAsync(arguments, output, errors, CancellationToken.None)).ShouldBe(PartitionsCommand.ExitFailure, string.Join(' ', arguments));
            errors.ToString().ShouldStartWith("partitions: ");
        }
    }

    [Fact]
    public async Task With_a_Redis_that_never_answers_partitions_list_answers_at_once_and_a_detach_is_refused_untouched()
    {
        // Proves that only a detach reaches Redis: `partitions list` against a Redis that takes connections and never
        // answers lists the months without waiting out the Redis timeout (it waited for the client's connect before), and a
        // detach of January is refused with exit 2, saying Redis failed and nothing was detached; January stays attached.
        var (dataSource, store) = await NewLedgerAsync("blackhole", epoch: 2);
        await using (dataSource)
        {
            await store.WriteBatchAsync([JanuaryFunding("blackhole")], CancellationToken.None);
            using var silentRedis = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            silentRedis.Start();
            string[] storage = ["--Storage:Postgres=" + dataSource.ConnectionString, "--Storage:Redis=" + silentRedis.LocalEndpoint];

            using var listed = new StringWriter();
            using var listErrors = new StringWriter();
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            (await PartitionsCommand.RunAsync(["list", .. storage, "--Storage:RedisTimeoutMs=30000"], listed, listErrors, CancellationToken.None)).ShouldBe(0, listErrors.ToString());
            System.Diagnostics.Stopwatch.GetElapsedTime(started).ShouldBeLessThan(TimeSpan.FromSeconds(15), "the list waited for Redis (Storage:RedisTimeoutMs is 30 s)");
            listed.ToString().ShouldContain("2026-01   attached");

            using var detachErrors = new StringWriter();
            (await PartitionsCommand.RunAsync(["detach", "--before", "2026-02", .. storage, "--Storage:RedisTimeoutMs=200"], TextWriter.Null, detachErrors, CancellationToken.None))
                .ShouldBe(PartitionsCommand.ExitFailure);
            detachErrors.ToString().ShouldStartWith("partitions: Redis failed (a detach checks its pending settlements before it seals anything: nothing was detached)");
            var january = await JanuaryAsync(await PartitionsAsync(dataSource));
            (january.Sealed, january.Detached).ShouldBe((false, false));
        }
    }

    [Fact]
    public async Task Detaching_a_month_with_money_keeps_balance_hold_funding_key_and_reconciliation_through_a_rebuild()
    {
        // Proves money conservation across a detach: December holds the funding and a finished call; two months later a
        // call is open with a hold. December is detached (its rows carried into the checkpoint), then the tenant's Redis
        // state is lost and rebuilt from the ledger: balance, hold, lots and the reconciliation are what they were, the
        // funding's idempotency key is still answered (not funded twice), charging goes on, and the exports refuse a period
        // that starts in the detached month but open a period from the boundary with the checkpoint.
        await using var gateway = await GatewayInstance.StartAsync(null, "--Supervision:Enabled=false");
        var tenant = await gateway.CreateTenantAsync(5_000_000, Rate("44", 60_000, first: 60, next: 60));
        var december = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, december, 60));
        await gateway.Charging.TerminateAsync(Terminate(tenant, december, 1, 90));
        var fundedMonth = DateOnly.FromDateTime(gateway.Clock.GetUtcNow().UtcDateTime);
        gateway.Clock.Advance(TimeSpan.FromDays(62));
        var finished = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, finished, 60));
        await gateway.Charging.TerminateAsync(Terminate(tenant, finished, 1, 30));
        var open = NewSessionId();
        (await gateway.Charging.ReserveAsync(Reserve(tenant, open, 120))).ResultCode.ShouldBe(ResultCode.Success);
        var reconciler = gateway.Services.GetRequiredService<Reconciler>();
        var before = await BalanceAsync(gateway, tenant);
        before.ShouldBe((5_000_000L - 120_000 - 60_000, 120_000L));
        var reconciledBefore = (await reconciler.CheckAsync(tenant, CancellationToken.None))!;
        reconciledBefore.Drift.ShouldBe(DriftKinds.None, reconciledBefore.Describe());

        var now = DateOnly.FromDateTime(gateway.Clock.GetUtcNow().UtcDateTime);
        var detached = await gateway.Services.GetRequiredService<LedgerPartitions>().DetachBeforeAsync(new DateOnly(now.Year, now.Month, 1).AddMonths(-1), CancellationToken.None);
        var december2 = detached.Single(month => month.Month == new DateOnly(fundedMonth.Year, fundedMonth.Month, 1));
        december2.AmountMicros.ShouldBe(5_000_000 - 120_000);
        await gateway.LoseHotStateAsync(tenant);

        (await BalanceAsync(gateway, tenant)).ShouldBe(before);
        var reconciledAfter = (await reconciler.CheckAsync(tenant, CancellationToken.None))!;
        reconciledAfter.Drift.ShouldBe(DriftKinds.None, reconciledAfter.Describe());
        (reconciledAfter.LedgerBalanceMicros, reconciledAfter.CallRecordCount, reconciledAfter.CallChargesMicros, reconciledAfter.CallDebitsMicros)
            .ShouldBe((reconciledBefore.LedgerBalanceMicros, reconciledBefore.CallRecordCount, reconciledBefore.CallChargesMicros, reconciledBefore.CallDebitsMicros));
        var again = await gateway.Accounts.AddFundsAsync(new AddFundsRequest
        {
            TenantId = tenant, Amount = new Money { AmountMicros = 5_000_000, Currency = "EUR" }, IdempotencyKey = "initial-" + tenant,
        });
        again.Balance.Balance_.AmountMicros.ShouldBe(before.Balance, "a detached funding's key is answered, not funded twice");
        (await gateway.Charging.TerminateAsync(Terminate(tenant, open, 1, 60))).SessionCharged.AmountMicros.ShouldBe(60_000);
        (await gateway.LedgerAsync(tenant)).Sum.ShouldBe(before.Balance - 60_000);
        (await gateway.CallRecordsAsync(tenant)).ShouldBe((3L, 240_000L));
        await gateway.ShouldConserveMoneyAsync(tenant);
        (await reconciler.CheckAsync(tenant, CancellationToken.None))!.Drift.ShouldBe(DriftKinds.None);

        var boundary = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(-1);
        var fromDecember = Timestamp.FromDateTimeOffset(boundary.AddDays(-10));
        var untilNow = Timestamp.FromDateTimeOffset(gateway.Clock.GetUtcNow().AddMinutes(1));
        var usage = await Should.ThrowAsync<RpcException>(() => ReportCalls.ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = tenant, From = fromDecember, Before = untilNow }));
        usage.StatusCode.ShouldBe(StatusCode.FailedPrecondition);
        usage.Status.Detail.ShouldContain("detached");
        var statement = await Should.ThrowAsync<RpcException>(
            () => ReportCalls.ExportLedgerStatementAsync(gateway, new ExportLedgerStatementRequest { TenantId = tenant, From = fromDecember, Before = untilNow }));
        statement.StatusCode.ShouldBe(StatusCode.FailedPrecondition);
        var lines = await ReportCalls.ExportLedgerStatementAsync(
            gateway, new ExportLedgerStatementRequest { TenantId = tenant, From = Timestamp.FromDateTimeOffset(boundary), Before = untilNow });
        lines[0].Opening.Balance.AmountMicros.ShouldBe(5_000_000 - 120_000, "the opening balance of a period from the boundary is the checkpoint's");
        (await ReportCalls.ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = tenant, From = Timestamp.FromDateTimeOffset(boundary), Before = untilNow }))
            .Count.ShouldBe(2);

        using var output = new StringWriter();
        using var errors = new StringWriter();
        (await PartitionsCommand.RunAsync(
            ["list", "--Storage:Postgres=" + gateway.PostgresConnectionString, "--Storage:Redis=" + gateway.RedisSetting, "--Logging:LogLevel:Default=Warning"],
            output,
            errors,
            CancellationToken.None)).ShouldBe(PartitionsCommand.ExitDone, errors.ToString());
        output.ToString().ShouldContain(LedgerPartitions.Format(december2.Month) + "   detached");
    }

    private static async Task<(long Balance, long Held)> BalanceAsync(GatewayInstance gateway, string tenantId)
    {
        var answer = await gateway.Charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = tenantId });
        return (answer.Balance.Balance_.AmountMicros, answer.Balance.Held.AmountMicros);
    }

    /// <summary>
    /// Locks session_steps, which a detach's sums read and a plain debit does not touch, until released: a detach waits
    /// there, between its seal and its detach.
    /// </summary>
    private static async Task<SessionStepsLock> HoldSessionStepsAsync(NpgsqlDataSource dataSource)
    {
        var connection = await dataSource.OpenConnectionAsync();
        var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("LOCK TABLE session_steps IN ACCESS EXCLUSIVE MODE", transaction: transaction);
        return new SessionStepsLock(connection, transaction);
    }

    private sealed class SessionStepsLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public Task ReleaseAsync() => transaction.RollbackAsync();

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    private static async Task WaitUntilSealedAsync(LedgerPartitions partitions, DateOnly month, bool sealedNow)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await partitions.ListAsync(CancellationToken.None)).Single(listed => listed.Month == month).Sealed != sealedNow)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"{month} was not sealed={sealedNow} within 20 s");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// The Redis whose pending settlements the detaches of these tests check: a database of the shared test Redis that
    /// no other test writes, shared by the tests of this class (each has tenants of its own) for the test process's life,
    /// like the servers themselves.
    /// </summary>
    private static readonly Lazy<Task<(RedisHotStore Store, string Configuration)>> HotStore = new(async () =>
    {
        var servers = await TestServers.SharedAsync();
        var redis = servers.RedisConfiguration + ",defaultDatabase=" + await GatewayInstance.ReserveRedisDatabaseAsync();
        return (new RedisHotStore(Options.Create(new StorageOptions { Redis = redis }), NullLogger<RedisHotStore>.Instance), redis);
    });

    private static async Task<LedgerPartitions> PartitionsAsync(NpgsqlDataSource dataSource) =>
        new(dataSource, new Lazy<PendingSettlements>(new PendingSettlements((await HotStore.Value).Store)), Options.Create(new LedgerOptions()), new FixedClock(DetachDay), NullLogger<LedgerPartitions>.Instance);

    private static async Task<PartitionMonth> JanuaryAsync(LedgerPartitions partitions) =>
        (await partitions.ListAsync(CancellationToken.None)).Single(month => month.Month == FirstOfJanuary);

    /// <summary>
    /// Writes the tenant's January (its funding, then a 10,000 debit the day after) and a 20,000 debit in March, so that
    /// a detach of January carries 2 entries of 990,000 and leaves -20,000 attached; returns the January debit.
    /// </summary>
    private static async Task<Settlement> WriteJanuaryAndMarchAsync(LedgerBatchStore store, string tenantId)
    {
        var debit = new Settlement(tenantId, 2, 2, January.AddDays(1), Debit(-10_000), null, null);
        var kept = new Settlement(tenantId, 2, 3, March, Debit(-20_000), null, null);
        (await store.WriteBatchAsync([JanuaryFunding(tenantId), debit, kept], CancellationToken.None)).ShouldAllBe(outcome => outcome == SettlementOutcome.Committed);
        return debit;
    }

    /// <summary>The tenant's first settlement (epoch 2): 1,000,000 micros funded in January, idempotency key "key-" and the tenant.</summary>
    private static Settlement JanuaryFunding(string tenantId) => new(tenantId, 2, 1, January, Funding(1_000_000, "key-" + tenantId), null, null);

    private static async Task<(NpgsqlDataSource DataSource, LedgerBatchStore Store)> NewLedgerAsync(string tenantId, long epoch)
    {
        var servers = await TestServers.SharedAsync();
        var dataSource = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("partitions"));
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).ApplyAsync(CancellationToken.None);
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "INSERT INTO tenants (tenant_id, currency, display_name, hot_epoch) VALUES (@tenantId, 'EUR', 'Test', @epoch)", new { tenantId, epoch });
        return (dataSource, new LedgerBatchStore(dataSource));
    }

    private static CommsCredits.Gateway.Ledger.LedgerEntry Funding(long amountMicros, string key) =>
        new(LedgerEntryKind.Funding, amountMicros, null, null, null, key, null, new NewLot(LotSource.OneOffFunding, January.AddYears(1)), []);

    private static CommsCredits.Gateway.Ledger.LedgerEntry Debit(long amountMicros) =>
        new(LedgerEntryKind.Debit, amountMicros, null, null, null, null, null, null, [new LotDraw(new EntryKey(2, 1), -amountMicros)]);

    /// <summary>A debit event's settlement as common.lua's settlement() encodes it (netstrings of its 18 fields, no call).</summary>
    private static string EncodeDebit(long epoch, long operation, DateTimeOffset occurredAt, long amountMicros)
    {
        string[] fields =
        [
            Number(epoch), Number(operation), Number(occurredAt.ToUnixTimeMilliseconds()), "2", Number(amountMicros), string.Empty, string.Empty, string.Empty,
            string.Empty, string.Empty, string.Empty, string.Empty, "1.1:" + Number(-amountMicros), string.Empty, string.Empty, string.Empty, string.Empty, "0",
        ];
        return ScriptText.Encode(fields);
    }

    private static string Number(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
