namespace CommsCredits.Cli.Commands;

using System.CommandLine;
using System.Globalization;
using CommsCredits.Contracts.V1;
using Spectre.Console;
using ContractMoney = CommsCredits.Contracts.V1.Money;

/// <summary>balance, funds, tenants, auto-recharge, rates and ledger: the Accounts service.</summary>
internal static class AccountCommands
{
    /// <summary>The most pages "ledger list" follows, at --page-size entries each.</summary>
    public const int MaxPagesDefault = 1_000;

    public static void AddTo(RootCommand root, CommandRunner runner)
    {
        var balance = Balance(runner);
        var ledger = Ledger(runner);
        root.Subcommands.Add(balance);
        root.Subcommands.Add(Funds(runner));
        root.Subcommands.Add(Tenants(runner));
        root.Subcommands.Add(AutoRecharge(runner));
        root.Subcommands.Add(Rates(runner));
        root.Subcommands.Add(ledger);
        ReportCommands.AddTo(ledger, balance, root, runner);
    }

    /// <summary>The tenant's currency, which the amounts typed on the command line are in.</summary>
    public static async Task<string> CurrencyAsync(CliSession session, string tenant, CancellationToken cancellationToken)
    {
        var balance = await session.Accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant }, session.Call(cancellationToken)).ConfigureAwait(false);
        return balance.Balance.Balance_.Currency;
    }

    private static Command Balance(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var command = new Command("balance", "Balance, held and available, and the funding lots.") { tenant };
        runner.SetAction(command, async (parsed, session, cancellationToken) =>
        {
            var account = await session.Accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = parsed.GetValue(tenant)! }, session.Call(cancellationToken)).ConfigureAwait(false);
            await session.Output.WriteLineAsync("balance:   " + Text.Amount(account.Balance.Balance_)).ConfigureAwait(false);
            await session.Output.WriteLineAsync("held:      " + Text.Amount(account.Balance.Held)).ConfigureAwait(false);
            await session.Output.WriteLineAsync("available: " + Text.Amount(account.Balance.Available)).ConfigureAwait(false);
            var table = new Table().AddColumns("Lot", "Source", "Amount", "Remaining", "Purchased", "Expires", "Expired");
            foreach (var lot in account.Lots)
            {
                table.AddRow(Markup.Escape(lot.LotId), lot.Source.ToString(), Text.Amount(lot.Amount), Text.Amount(lot.Remaining), Text.Time(lot.PurchasedAt), Text.Time(lot.ExpiresAt), lot.Expired ? "yes" : "no");
            }

            session.Console.Write(table);
        });
        return command;
    }

    private static Command Funds(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var amount = Text.Required("--amount", "The amount in major units of the tenant's currency, e.g. 50.00.");
        var key = Text.Required("--idempotency-key", "Identifies this payment: the same key funds once however often it is sent.");
        var reference = new Option<string?>("--reference") { Description = "Words for people: a payment reference." };
        var add = new Command("add", "Adds funds (a one-off funding lot).") { tenant, amount, key, reference };
        runner.SetAction(add, async (parsed, session, cancellationToken) =>
        {
            var tenantId = parsed.GetValue(tenant)!;
            var currency = await CurrencyAsync(session, tenantId, cancellationToken).ConfigureAwait(false);
            var micros = Text.ParseAmount(parsed.GetValue(amount)!, currency, "--amount");
            var request = new AddFundsRequest
            {
                TenantId = tenantId, Amount = new ContractMoney { AmountMicros = micros, Currency = currency },
                IdempotencyKey = parsed.GetValue(key)!, Reference = parsed.GetValue(reference) ?? string.Empty,
            };
            var response = await session.Accounts.AddFundsAsync(request, session.Call(cancellationToken)).ConfigureAwait(false);
            await session.Output.WriteLineAsync("funded:    " + Text.Amount(response.Funded)).ConfigureAwait(false);
            await session.Output.WriteLineAsync("balance:   " + Text.Amount(response.Balance.Balance_)).ConfigureAwait(false);
            await session.Output.WriteLineAsync("available: " + Text.Amount(response.Balance.Available)).ConfigureAwait(false);
        });
        return new Command("funds", "Funding.") { add };
    }

    private static Command Tenants(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var currency = Text.Required("--currency", "ISO 4217 code, e.g. EUR.");
        var name = Text.Required("--display-name", "The tenant's name for people.");
        var create = new Command("create", "Creates a tenant (idempotent for the same settings).") { tenant, currency, name };
        runner.SetAction(create, async (parsed, session, cancellationToken) =>
        {
            var request = new CreateTenantRequest { TenantId = parsed.GetValue(tenant)!, Currency = parsed.GetValue(currency)!, DisplayName = parsed.GetValue(name)! };
            await PrintTenantAsync(session, await session.Accounts.CreateTenantAsync(request, session.Call(cancellationToken)).ConfigureAwait(false)).ConfigureAwait(false);
        });

        var updateTenant = Text.Tenant();
        var newName = new Option<string?>("--display-name") { Description = "A new display name." };
        var timeZone = new Option<string?>("--time-zone") { Description = "An IANA time zone, e.g. Europe/Paris." };
        var expiry = new Option<uint?>("--funding-expiry-months") { Description = "Months a funding lot lasts." };
        var update = new Command("update", "Changes the settings given; the others stay.") { updateTenant, newName, timeZone, expiry };
        runner.SetAction(update, async (parsed, session, cancellationToken) =>
        {
            var request = new UpdateTenantRequest { TenantId = parsed.GetValue(updateTenant)! };
            if (parsed.GetValue(newName) is { } displayName)
            {
                request.DisplayName = displayName;
            }

            if (parsed.GetValue(timeZone) is { } zone)
            {
                request.TimeZone = zone;
            }

            if (parsed.GetValue(expiry) is { } months)
            {
                request.FundingExpiryMonths = months;
            }

            await PrintTenantAsync(session, await session.Accounts.UpdateTenantAsync(request, session.Call(cancellationToken)).ConfigureAwait(false)).ConfigureAwait(false);
        });
        return new Command("tenants", "Tenants.") { create, update };
    }

    private static async Task PrintTenantAsync(CliSession session, Tenant tenant)
    {
        await session.Output.WriteLineAsync("tenant:                " + tenant.TenantId).ConfigureAwait(false);
        await session.Output.WriteLineAsync("currency:              " + tenant.Currency).ConfigureAwait(false);
        await session.Output.WriteLineAsync("display name:          " + tenant.DisplayName).ConfigureAwait(false);
        await session.Output.WriteLineAsync("time zone:             " + tenant.TimeZone).ConfigureAwait(false);
        await session.Output.WriteLineAsync("funding expiry months: " + tenant.FundingExpiryMonths.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        await session.Output.WriteLineAsync("created:               " + Text.Time(tenant.CreatedAt)).ConfigureAwait(false);
    }

    private static Command AutoRecharge(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var get = new Command("get", "Shows the automatic recharge settings.") { tenant };
        runner.SetAction(get, async (parsed, session, cancellationToken) =>
        {
            var settings = await session.Accounts.GetAutoRechargeAsync(new GetAutoRechargeRequest { TenantId = parsed.GetValue(tenant)! }, session.Call(cancellationToken)).ConfigureAwait(false);
            await PrintAutoRechargeAsync(session, settings).ConfigureAwait(false);
        });

        var setTenant = Text.Tenant();
        var enabled = new Option<bool>("--enabled") { Description = "true or false.", Required = true };
        var trigger = Text.Required("--trigger", "A debit taking the balance below this starts a recharge (major units).");
        var recharge = Text.Required("--recharge", "What one recharge buys (major units).");
        var payment = new Option<string?>("--payment-method") { Description = "The payment provider's reference; required when enabled." };
        var set = new Command("set", "Sets the automatic recharge.") { setTenant, enabled, trigger, recharge, payment };
        runner.SetAction(set, async (parsed, session, cancellationToken) =>
        {
            var tenantId = parsed.GetValue(setTenant)!;
            var currency = await CurrencyAsync(session, tenantId, cancellationToken).ConfigureAwait(false);
            var request = new SetAutoRechargeRequest
            {
                TenantId = tenantId, Enabled = parsed.GetValue(enabled),
                Trigger = new ContractMoney { AmountMicros = Text.ParseAmount(parsed.GetValue(trigger)!, currency, "--trigger"), Currency = currency },
                Recharge = new ContractMoney { AmountMicros = Text.ParseAmount(parsed.GetValue(recharge)!, currency, "--recharge"), Currency = currency },
                PaymentMethodReference = parsed.GetValue(payment) ?? string.Empty,
            };
            await PrintAutoRechargeAsync(session, await session.Accounts.SetAutoRechargeAsync(request, session.Call(cancellationToken)).ConfigureAwait(false)).ConfigureAwait(false);
        });
        return new Command("auto-recharge", "Automatic recharge.") { get, set };
    }

    private static async Task PrintAutoRechargeAsync(CliSession session, Contracts.V1.AutoRecharge settings)
    {
        await session.Output.WriteLineAsync("enabled:        " + (settings.Enabled ? "true" : "false")).ConfigureAwait(false);
        await session.Output.WriteLineAsync("trigger:        " + Text.Amount(settings.Trigger)).ConfigureAwait(false);
        await session.Output.WriteLineAsync("recharge:       " + Text.Amount(settings.Recharge)).ConfigureAwait(false);
        await session.Output.WriteLineAsync("payment method: " + settings.PaymentMethodReference).ConfigureAwait(false);
        await session.Output.WriteLineAsync("updated:        " + Text.Time(settings.UpdatedAt)).ConfigureAwait(false);
    }

    private static Command Rates(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var file = Text.Required("--file", "A rate file (docs/rating.md, \"Rate files\").");
        var import = new Command("import", "Uploads a rate file in chunks; all of it is stored or none.") { tenant, file };
        runner.SetAction(import, async (parsed, session, cancellationToken) =>
        {
            var path = parsed.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new UsageException($"--file '{path}' does not exist");
            }

            await using var stream = File.OpenRead(path);
            var length = stream.Length;
            var response = await session.Console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn())
                .StartAsync(async context =>
                {
                    var upload = context.AddTask("upload", maxValue: Math.Max(length, 1));
                    var progress = new Progress<long>(sent => upload.Value = sent);
                    var result = await session.Accounts.ImportRateCsvAsync(parsed.GetValue(tenant)!, stream, progress, session.Call(cancellationToken)).ConfigureAwait(false);
                    upload.Value = upload.MaxValue;
                    return result;
                }).ConfigureAwait(false);
            await session.Output.WriteLineAsync($"imported {response.ImportedRows.ToString(CultureInfo.InvariantCulture)} rows ({length.ToString(CultureInfo.InvariantCulture)} bytes), revision {response.Revision.ToString(CultureInfo.InvariantCulture)}").ConfigureAwait(false);
        });
        return new Command("rates", "Rate tables.") { import };
    }

    private static Command Ledger(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var from = new Option<string?>("--from") { Description = "From this date or time (UTC), included." };
        var before = new Option<string?>("--before") { Description = "Before this date or time (UTC)." };
        var pageSize = new Option<uint>("--page-size") { Description = "Entries per call.", DefaultValueFactory = _ => 500 };
        var maxPages = new Option<int>("--max-pages") { Description = "The most pages followed.", DefaultValueFactory = _ => MaxPagesDefault };
        var list = new Command("list", "The ledger entries, following every page.") { tenant, from, before, pageSize, maxPages };
        runner.SetAction(list, async (parsed, session, cancellationToken) =>
        {
            var request = new ListLedgerEntriesRequest { TenantId = parsed.GetValue(tenant)!, PageSize = parsed.GetValue(pageSize) };
            if (parsed.GetValue(from) is { } fromText)
            {
                request.OccurredFrom = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Text.ParseInstant(fromText, "--from"));
            }

            if (parsed.GetValue(before) is { } beforeText)
            {
                request.OccurredBefore = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Text.ParseInstant(beforeText, "--before"));
            }

            var table = new Table().AddColumns("Entry", "Kind", "Occurred", "Amount", "Session", "Reference", "Note");
            var pages = 0;
            var entries = 0;
            do
            {
                if (pages == parsed.GetValue(maxPages))
                {
                    throw new UsageException($"more than --max-pages {pages.ToString(CultureInfo.InvariantCulture)} pages: narrow --from/--before or raise --max-pages");
                }

                var page = await session.Accounts.ListLedgerEntriesAsync(request, session.Call(cancellationToken)).ConfigureAwait(false);
                foreach (var entry in page.Entries)
                {
                    table.AddRow(Markup.Escape(entry.EntryId), entry.Kind.ToString(), Text.Time(entry.OccurredAt), Text.Amount(entry.Amount), Markup.Escape(entry.SessionId), Markup.Escape(entry.Reference), Markup.Escape(entry.Note));
                }

                entries += page.Entries.Count;
                pages++;
                request.PageToken = page.NextPageToken;
            }
            while (request.PageToken.Length > 0);

            session.Console.Write(table);
            await session.Output.WriteLineAsync($"{entries.ToString(CultureInfo.InvariantCulture)} entries").ConfigureAwait(false);
        });
        return new Command("ledger", "The ledger.") { list };
    }
}
