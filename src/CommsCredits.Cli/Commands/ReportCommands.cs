namespace CommsCredits.Cli.Commands;

using System.CommandLine;
using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf.WellKnownTypes;
using Spectre.Console;

/// <summary>ledger statement, recharge advise (Reports) and balance watch (Balances).</summary>
internal static class ReportCommands
{
    /// <summary>The most statement lines printed before the command stops: a statement is for people.</summary>
    public const int MaxStatementLines = 100_000;

    public static void AddTo(Command ledger, Command balance, RootCommand root, CommandRunner runner)
    {
        ledger.Subcommands.Add(Statement(runner));
        balance.Subcommands.Add(Watch(runner));
        root.Subcommands.Add(new Command("recharge", "Recharge advice.") { Advise(runner) });
    }

    private static Command Statement(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var from = Text.Required("--from", "From this date (midnight UTC) or time, included.");
        var before = Text.Required("--before", "Before this date or time.");
        var command = new Command("statement", "Opening balance, the entries with the balance after each, and the closing totals.") { tenant, from, before };
        runner.SetAction(command, async (parsed, session, cancellationToken) =>
        {
            var request = new ExportLedgerStatementRequest
            {
                TenantId = parsed.GetValue(tenant)!,
                From = Timestamp.FromDateTimeOffset(Text.ParseInstant(parsed.GetValue(from)!, "--from")),
                Before = Timestamp.FromDateTimeOffset(Text.ParseInstant(parsed.GetValue(before)!, "--before")),
            };
            var table = new Table().AddColumns("Entry", "Kind", "Occurred", "Amount", "Balance after", "Reference");
            var lines = 0;
            using var call = session.Reports.ExportLedgerStatement(request, session.Call(cancellationToken));
            await foreach (var line in call.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (++lines > MaxStatementLines)
                {
                    throw new UsageException($"more than {MaxStatementLines.ToString(CultureInfo.InvariantCulture)} statement lines: narrow --from/--before");
                }

                switch (line.LineCase)
                {
                    case StatementLine.LineOneofCase.Opening:
                        await session.Output.WriteLineAsync($"opening balance: {Text.Amount(line.Opening.Balance)} ({Text.Time(line.Opening.From)} to before {Text.Time(line.Opening.Before)})").ConfigureAwait(false);
                        break;
                    case StatementLine.LineOneofCase.Entry:
                        var entry = line.Entry.Entry;
                        table.AddRow(Markup.Escape(entry.EntryId), entry.Kind.ToString(), Text.Time(entry.OccurredAt), Text.Amount(entry.Amount), Text.Amount(line.Entry.BalanceAfter), Markup.Escape(entry.Reference));
                        break;
                    case StatementLine.LineOneofCase.Closing:
                        session.Console.Write(table);
                        var closing = line.Closing;
                        await session.Output.WriteLineAsync($"closing balance: {Text.Amount(closing.Balance)} after {closing.EntryCount.ToString(CultureInfo.InvariantCulture)} entries").ConfigureAwait(false);
                        await session.Output.WriteLineAsync($"funded {Text.Amount(closing.Funded)}, debited {Text.Amount(closing.Debited)}, refunded {Text.Amount(closing.Refunded)}, expired {Text.Amount(closing.Expired)}").ConfigureAwait(false);
                        break;
                    default:
                        throw new RpcException(new CommsCredits.Grpc.Protocol.Status(StatusCode.Internal, "the server sent an empty statement line"));
                }
            }
        });
        return command;
    }

    private static Command Advise(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var history = new Option<uint>("--history-days") { Description = "Days of spending looked at (0: the server's default)." };
        var lead = new Option<uint>("--lead-time-hours") { Description = "Hours a recharge takes to arrive (0: default)." };
        var cover = new Option<uint>("--cover-days") { Description = "Days one recharge should last (0: default)." };
        var percentile = new Option<uint>("--percentile") { Description = "Percentile of daily spend planned for (0: default)." };
        var command = new Command("advise", "Advises an auto-recharge trigger and amount from past spending.") { tenant, history, lead, cover, percentile };
        runner.SetAction(command, async (parsed, session, cancellationToken) =>
        {
            var request = new AdviseRechargeRequest
            {
                TenantId = parsed.GetValue(tenant)!, HistoryDays = parsed.GetValue(history), LeadTimeHours = parsed.GetValue(lead),
                CoverDays = parsed.GetValue(cover), Percentile = parsed.GetValue(percentile),
            };
            var advice = await session.Reports.AdviseRechargeAsync(request, session.Call(cancellationToken)).ConfigureAwait(false);
            await session.Output.WriteLineAsync("trigger:             " + Text.Amount(advice.Trigger)).ConfigureAwait(false);
            await session.Output.WriteLineAsync("recharge:            " + Text.Amount(advice.Recharge)).ConfigureAwait(false);
            await session.Output.WriteLineAsync($"history:             {Text.Time(advice.HistoryFrom)} to before {Text.Time(advice.HistoryBefore)} ({advice.HistoryDays.ToString(CultureInfo.InvariantCulture)} days, {advice.DaysWithSpend.ToString(CultureInfo.InvariantCulture)} with spend)").ConfigureAwait(false);
            await session.Output.WriteLineAsync("total spend:         " + Text.Amount(advice.TotalSpend)).ConfigureAwait(false);
            await session.Output.WriteLineAsync($"typical daily spend: {Text.Amount(advice.TypicalDailySpend)} (median; recharge = {advice.CoverDays.ToString(CultureInfo.InvariantCulture)} days of it)").ConfigureAwait(false);
            await session.Output.WriteLineAsync("peak daily spend:    " + Text.Amount(advice.PeakDailySpend)).ConfigureAwait(false);
            await session.Output.WriteLineAsync($"lead time spend:     {Text.Amount(advice.LeadTimeSpend)} (percentile {advice.Percentile.ToString(CultureInfo.InvariantCulture)} of {advice.LeadTimeHours.ToString(CultureInfo.InvariantCulture)} h windows; the trigger covers it)").ConfigureAwait(false);
            if (advice.Current is { } current)
            {
                await session.Output.WriteLineAsync($"current:             {(current.Enabled ? "enabled" : "disabled")}, trigger {Text.Amount(current.Trigger)}, recharge {Text.Amount(current.Recharge)}").ConfigureAwait(false);
            }

            foreach (var note in advice.Notes)
            {
                await session.Output.WriteLineAsync("note: " + note).ConfigureAwait(false);
            }
        });
        return command;
    }

    private static Command Watch(CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var maxChanges = new Option<int>("--max-changes") { Description = "Stop after this many changes (1 to 1,000,000).", DefaultValueFactory = _ => 1_000_000 };
        var watchSeconds = new Option<int>("--watch-seconds") { Description = "Stop after this many seconds.", DefaultValueFactory = _ => 3_600 };
        var command = new Command("watch", "Prints the balance each time it changes.") { tenant, maxChanges, watchSeconds };
        runner.SetAction(command, async (parsed, session, cancellationToken) =>
        {
            var limit = parsed.GetValue(maxChanges);
            var seconds = parsed.GetValue(watchSeconds);
            if (limit is < 1 or > 1_000_000 || seconds is < 1 or > GlobalOptions.MaxTimeoutSeconds)
            {
                throw new UsageException($"--max-changes must be 1 to 1000000 and --watch-seconds 1 to {GlobalOptions.MaxTimeoutSeconds}");
            }

            // Balances has no typed client in CommsCredits.Client yet, so the call is made on the channel directly.
            var headers = new Metadata().Add("authorization", "Bearer " + session.Key);
            var options = new CallOptions(headers, DateTime.UtcNow.AddSeconds(seconds), cancellationToken);
            using var call = session.Channel.ServerStreaming<WatchBalanceRequest, BalanceChange>("/commscredits.v1.Balances/Watch", new WatchBalanceRequest { TenantId = parsed.GetValue(tenant)! }, options);
            var changes = 0;
            try
            {
                await foreach (var change in call.WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    await session.Output.WriteLineAsync($"{Text.Time(change.ObservedAt)} #{change.Sequence.ToString(CultureInfo.InvariantCulture)} balance {Text.Amount(change.Balance.Balance_)} held {Text.Amount(change.Balance.Held)} available {Text.Amount(change.Balance.Available)}").ConfigureAwait(false);
                    if (++changes == limit)
                    {
                        break;
                    }
                }
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.DeadlineExceeded)
            {
                // --watch-seconds ran out: the watch ends as asked.
            }
        });
        return command;
    }
}
