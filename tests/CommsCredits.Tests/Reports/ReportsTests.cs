namespace CommsCredits.Tests.Reports;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Reports;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;
using static CommsCredits.Tests.Provisioning.Directories;
using static CommsCredits.Tests.Reports.ReportCalls;

/// <summary>A gateway whose exports read 2 rows a query, so that every export here spans several pages.</summary>
public sealed class ReportsGateway : IAsyncLifetime
{
    public GatewayInstance Gateway { get; private set; } = null!;

    public async Task InitializeAsync() => Gateway = await GatewayInstance.StartAsync(null, "--Reports:PageSize=2");

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}

/// <summary>ExportUsage and ExportLedgerStatement against a real gateway, PostgreSQL and Redis.</summary>
public sealed class ReportsTests(ReportsGateway fixture) : IClassFixture<ReportsGateway>
{
    private const long Euro = 1_000_000;
    private const string France = "+33142685300";
    private readonly GatewayInstance gateway = fixture.Gateway;

    [Fact]
    public async Task The_usage_export_has_every_call_record_with_its_columns_and_the_ledgers_debits()
    {
        // Proves the export holds each of the tenant's call records exactly once, in (end_time, usage_id) order, over
        // several pages, with charges summing to the call_records sum and the ledger's debits; and the columns of an
        // outbound domestic call with its connection fee, an international one, a session ended by LOGOUT, a toll-free
        // call rated on its calling number, a call a pool paid for, and a call of a user no longer in the directory.
        var (tenant, from) = await TenantWithCallsAsync();
        var records = await ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = tenant, From = from, Before = Later() });

        var (count, charged) = await gateway.CallRecordsAsync(tenant);
        records.Count.ShouldBe((int)count);
        records.Count.ShouldBe(6);
        records.Sum(record => record.Charge.AmountMicros).ShouldBe(charged);
        records.Sum(record => record.Charge.AmountMicros).ShouldBe((await gateway.LedgerAsync(tenant)).Debited);
        records.Select(record => record.UsageId).Distinct(StringComparer.Ordinal).Count().ShouldBe(6);
        records.Select(record => (record.EndTime.ToDateTimeOffset(), UsageKey(record.UsageId))).ShouldBeInOrder();

        var domestic = records.Single(record => string.Equals(record.DestinationNumber, UkFixed, StringComparison.Ordinal) && record.DurationSeconds == 90);
        (domestic.CallType, domestic.NumberType, domestic.DomesticInternational, domestic.Capability).ShouldBe(("user_out", "user", "Domestic", "communications_credits"));
        (domestic.Upn, domestic.UserDisplayName, domestic.UserLocation, domestic.CallerId).ShouldBe(("alice@example.com", "alice@example.com", "GB", Caller));
        (domestic.ConnectionFee.AmountMicros, domestic.Charge.AmountMicros, domestic.BilledSeconds, domestic.TerminationCause).ShouldBe((100_000L, 1_600_000L, 90UL, "EVENT"));
        (domestic.RatedPrefix, domestic.RatePerMinute.AmountMicros, domestic.DestinationDialed, domestic.Charge.Currency).ShouldBe(("44", Euro, "Destination 44", "EUR"));

        var international = records.Single(record => string.Equals(record.DestinationNumber, France, StringComparison.Ordinal));
        (international.DomesticInternational, international.Charge.AmountMicros, international.ConnectionFee.AmountMicros).ShouldBe(("International", 1_000_000L, 0L));

        var session = records.Single(record => string.Equals(record.TerminationCause, "LOGOUT", StringComparison.Ordinal));
        (session.DurationSeconds, session.Charge.AmountMicros, session.CallId.ShouldNotBeNull().Length > 0).ShouldBe((45UL, 850_000L, true));

        var tollFree = records.Single(record => string.Equals(record.CallType, "user_in", StringComparison.Ordinal));
        (tollFree.NumberType, tollFree.DomesticInternational, tollFree.RatedPrefix, tollFree.Charge.AmountMicros).ShouldBe(("toll_free", "International", "1", 500_000L));

        var pooled = records.Single(record => string.Equals(record.PoolId, "gb", StringComparison.Ordinal));
        (pooled.Capability, pooled.IncludedSeconds, pooled.Charge.AmountMicros, pooled.ConnectionFee.AmountMicros).ShouldBe(("included_minutes", 60UL, 0L, 0L));
        pooled.Upn.ShouldBe("pooled@test.example");

        var gone = records.Single(record => record.DurationSeconds == 12);
        (gone.Upn, gone.UserDisplayName, gone.UserLocation, gone.DomesticInternational).ShouldBe((string.Empty, string.Empty, string.Empty, "International"));
    }

    [Fact]
    public async Task The_period_bounds_include_from_and_exclude_before_and_after_resumes_with_exactly_the_rest()
    {
        // Proves [from, before) on end_time (a record ending at `before` is left out, one ending at `from` is in), and
        // that resuming after any record gives exactly the records after it, across page boundaries.
        var (tenant, from) = await TenantWithCallsAsync();
        var all = await ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = tenant, From = from, Before = Later() });
        all.Count.ShouldBe(6);

        var window = await ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = tenant, From = all[2].EndTime, Before = all[5].EndTime });
        window.Select(record => record.UsageId).ShouldBe(
            all.Where(record => record.EndTime.ToDateTimeOffset() >= all[2].EndTime.ToDateTimeOffset() && record.EndTime.ToDateTimeOffset() < all[5].EndTime.ToDateTimeOffset())
                .Select(record => record.UsageId));
        window.ShouldContain(all[2]);
        window.ShouldNotContain(all[5]);

        for (var received = 1; received < all.Count; received++)
        {
            var rest = await ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = tenant, From = from, Before = Later(), After = all[received - 1].UsageId });
            rest.ShouldBe(all.Skip(received).ToList());
        }
    }

    [Fact]
    public async Task Bad_requests_are_refused_naming_the_field()
    {
        // Proves the INVALID_ARGUMENT checks of both exports name the field or setting, and NOT_FOUND for an unknown tenant.
        var tenant = await gateway.CreateEmptyTenantAsync();
        var now = gateway.Clock.GetUtcNow();
        var from = Timestamp.FromDateTimeOffset(now.AddDays(-1));
        var before = Timestamp.FromDateTimeOffset(now);
        (ExportUsageRequest Request, string Detail)[] bad =
        [
            (new ExportUsageRequest { TenantId = tenant, Before = before }, "from"),
            (new ExportUsageRequest { TenantId = tenant, From = from }, "before"),
            (new ExportUsageRequest { TenantId = tenant, From = before, Before = from }, "before must be after from"),
            (new ExportUsageRequest { TenantId = tenant, From = Timestamp.FromDateTimeOffset(now.AddDays(-367)), Before = before }, "Reports:MaxPeriodDays"),
            (new ExportUsageRequest { TenantId = tenant, From = from, Before = before, After = "x" }, "after"),
            (new ExportUsageRequest { TenantId = tenant, From = from, Before = before, After = "999.999" }, "after"),
            (new ExportUsageRequest { TenantId = "bad tenant", From = from, Before = before }, "tenant_id"),
        ];
        foreach (var (request, detail) in bad)
        {
            var error = await Should.ThrowAsync<RpcException>(() => ExportUsageAsync(gateway, request));
            error.StatusCode.ShouldBe(StatusCode.InvalidArgument);
            error.Status.Detail.ShouldContain(detail);
        }

        var statement = await Should.ThrowAsync<RpcException>(() => ExportLedgerStatementAsync(gateway, new ExportLedgerStatementRequest { TenantId = tenant, From = from }));
        (statement.StatusCode, statement.Status.Detail.Contains("before", StringComparison.Ordinal)).ShouldBe((StatusCode.InvalidArgument, true));
        var unknown = await Should.ThrowAsync<RpcException>(() => ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = "nobody-here", From = from, Before = before }));
        unknown.StatusCode.ShouldBe(StatusCode.NotFound);
        (await ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = tenant, From = from, Before = before })).ShouldBeEmpty();
    }

    [Fact]
    public async Task The_statement_opening_plus_its_entries_is_its_closing_and_the_balance()
    {
        // Proves the statement: the opening is every entry before `from`, each line's balance_after is the running sum,
        // the closing equals opening plus entries, its sums by kind match the ledger, and the closing of a period up to
        // now is GetBalance's balance. Once for the whole history, once from the middle of it (over several pages).
        var (tenant, from) = await TenantWithCallsAsync();
        var whole = await ExportLedgerStatementAsync(gateway, new ExportLedgerStatementRequest { TenantId = tenant, From = from, Before = Later() });
        var closing = CheckStatement(whole, expectedOpening: 0);
        var ledger = await gateway.LedgerAsync(tenant);
        (closing.Balance.AmountMicros, closing.Funded.AmountMicros, closing.Debited.AmountMicros, closing.EntryCount).ShouldBe((ledger.Sum, ledger.Funded, -ledger.Debited, (ulong)whole.Count - 2));
        (closing.Refunded.AmountMicros, closing.Expired.AmountMicros).ShouldBe((0L, 0L));
        (await gateway.Accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant })).Balance.Balance_.AmountMicros.ShouldBe(closing.Balance.AmountMicros);

        var middle = whole[3].Entry.Entry;
        var partial = await ExportLedgerStatementAsync(gateway, new ExportLedgerStatementRequest { TenantId = tenant, From = middle.OccurredAt, Before = Later() });
        var openingExpected = whole.Skip(1).Take(whole.Count - 2).Where(line => line.Entry.Entry.OccurredAt.ToDateTimeOffset() < middle.OccurredAt.ToDateTimeOffset())
            .Sum(line => line.Entry.Entry.Amount.AmountMicros);
        CheckStatement(partial, openingExpected).Balance.AmountMicros.ShouldBe(closing.Balance.AmountMicros);
        partial.ShouldContain(line => line.Entry != null && line.Entry.Entry.EntryId == middle.EntryId);
    }

    [Fact]
    public async Task An_admin_key_of_one_tenant_exports_that_tenant_only()
    {
        // Proves Reports is tenant-scoped like Accounts: a key scoped to one tenant may export its own usage, and is
        // PERMISSION_DENIED for another tenant's.
        var own = await gateway.CreateEmptyTenantAsync();
        var other = await gateway.CreateEmptyTenantAsync();
        var key = await gateway.CreateKeyAsync(CommsCredits.Gateway.Credentials.ApiKeyRole.Admin, own);
        var from = Timestamp.FromDateTimeOffset(gateway.Clock.GetUtcNow().AddDays(-1));
        (await ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = own, From = from, Before = Later() }, key)).ShouldBeEmpty();
        var refused = await Should.ThrowAsync<RpcException>(() => ExportUsageAsync(gateway, new ExportUsageRequest { TenantId = other, From = from, Before = Later() }, key));
        refused.StatusCode.ShouldBe(StatusCode.PermissionDenied);
    }

    [Fact]
    public void An_export_beyond_the_concurrency_limit_is_refused_until_one_ends()
    {
        // Proves Reports:MaxConcurrentExports: with 2 slots, a third export is RESOURCE_EXHAUSTED naming the setting;
        // once one ends, an export may start again.
        var slots = new ExportSlots(Options.Create(new ReportsOptions { MaxConcurrentExports = 2 }));
        var first = slots.Take();
        using var second = slots.Take();
        var refused = Should.Throw<RpcException>(() => slots.Take());
        (refused.StatusCode, refused.Status.Detail.Contains("Reports:MaxConcurrentExports", StringComparison.Ordinal)).ShouldBe((StatusCode.ResourceExhausted, true));
        first.Dispose();
        using var third = slots.Take();
    }

    private static StatementClosing CheckStatement(IReadOnlyList<StatementLine> lines, long expectedOpening)
    {
        lines[0].LineCase.ShouldBe(StatementLine.LineOneofCase.Opening);
        lines[^1].LineCase.ShouldBe(StatementLine.LineOneofCase.Closing);
        var balance = lines[0].Opening.Balance.AmountMicros;
        balance.ShouldBe(expectedOpening);
        foreach (var line in lines.Skip(1).Take(lines.Count - 2))
        {
            line.LineCase.ShouldBe(StatementLine.LineOneofCase.Entry);
            balance += line.Entry.Entry.Amount.AmountMicros;
            line.Entry.BalanceAfter.AmountMicros.ShouldBe(balance);
        }

        lines[^1].Closing.Balance.AmountMicros.ShouldBe(balance);
        lines.Skip(1).Take(lines.Count - 2).Select(line => UsageKey(line.Entry.Entry.EntryId)).ShouldBeInOrder();
        return lines[^1].Closing;
    }

    private static (long, long) UsageKey(string id)
    {
        var parts = id.Split('.');
        return (long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private Timestamp Later() => Timestamp.FromDateTimeOffset(gateway.Clock.GetUtcNow().AddMinutes(5));

    /// <summary>A tenant with six finished calls of every kind the export distinguishes, all settled to the ledger.</summary>
    private async Task<(string Tenant, Timestamp From)> TenantWithCallsAsync()
    {
        var from = Timestamp.FromDateTimeOffset(gateway.Clock.GetUtcNow().AddMinutes(-1));
        var tenant = await gateway.CreateTenantAsync(
            50 * Euro, Rate("44", Euro, connectionFeeMicros: 100_000, first: 1, next: 1), Rate("33", 2 * Euro, first: 30, next: 30), Rate("1", Euro, first: 30, next: 30, callType: CallType.TollFreeInbound));
        var tollFreeNumber = "+44800" + Random.Shared.NextInt64(1_000_000, 10_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await gateway.Directory.AssignTollFreeNumberAsync(new AssignTollFreeNumberRequest { TenantId = tenant, Number = tollFreeNumber });
        await gateway.Directory.PutUserAsync(User(tenant, "pooled", CallingPlan.Domestic));
        await gateway.Directory.PutUserAsync(User(tenant, "gone", CallingPlan.PayAsYouGo));
        await gateway.Directory.PutMinutePoolAsync(Pool(tenant, "gb", 1, ["44"], ["GB"]));
        await gateway.DirectoryLoadedAsync(tenant);

        await gateway.Charging.DebitAsync(Debit(tenant, "alice@example.com", UkFixed, 90));
        await gateway.Charging.DebitAsync(Debit(tenant, "alice@example.com", France, 30));
        (await gateway.Charging.DebitAsync(Debit(tenant, "pooled", UkFixed, 60))).IncludedSeconds.ShouldBe(60u);
        await gateway.Charging.DebitAsync(Debit(tenant, "gone", UkFixed, 12));
        var tollFree = Debit(tenant, "alice@example.com", tollFreeNumber, 20);
        tollFree.CallType = CallType.TollFreeInbound;
        await gateway.Charging.DebitAsync(tollFree);
        var sessionId = NewSessionId();
        await gateway.Charging.ReserveAsync(Reserve(tenant, sessionId, 60));
        await gateway.Charging.TerminateAsync(Terminate(tenant, sessionId, 1, 45));
        await gateway.Directory.RemoveUserAsync(new RemoveUserRequest { TenantId = tenant, UserId = "gone" });

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await gateway.CallRecordsAsync(tenant)).Count < 6 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await gateway.ShouldConserveMoneyAsync(tenant);
        return (tenant, from);
    }

    private static DebitRequest Debit(string tenant, string user, string called, uint seconds) => new()
    {
        SessionId = NewSessionId(), TenantId = tenant, UserId = user, CallType = CallType.OutboundPstn, CallingNumber = Caller, CalledNumber = called, UsedSeconds = seconds,
    };
}
