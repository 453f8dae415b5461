namespace CommsCredits.Tests.Cli;

using CommsCredits.Cli.Commands;
using CommsCredits.Cli.Export;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>The CLI commands on the Reports service (served once issue 7's server side is merged).</summary>
public sealed class CliReportsTests
{
    [Fact]
    public async Task Usage_export_writes_the_calls_as_RFC_4180_CSV_and_renames_the_partial_file()
    {
        // Proves "usage export" writes the header, one CRLF-ended row per call with exact amounts, and leaves no
        // .partial file behind.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(100_000_000, Rate("44", 60_000));
        foreach (var usedSeconds in new uint[] { 60, 120 })
        {
            var session = NewSessionId();
            (await gateway.Charging.ReserveAsync(Reserve(tenant, session, 300))).ResultCode.ShouldBe(Contracts.V1.ResultCode.Success);
            (await gateway.Charging.TerminateAsync(Terminate(tenant, session, 1, usedSeconds))).ResultCode.ShouldBe(Contracts.V1.ResultCode.Success);
        }

        for (var attempt = 0; attempt < 100 && (await gateway.CallRecordsAsync(tenant)).Count < 2; attempt++)
        {
            await Task.Delay(100);
        }

        var directory = Directory.CreateTempSubdirectory("cli-usage-");
        try
        {
            var file = Path.Combine(directory.FullName, "usage.csv");
            var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            var (exit, output, error) = await CliRun.RunAsync(gateway, "usage", "export", "--tenant", tenant, "--from", DateTime.UtcNow.AddDays(-30).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), "--to", today, "--out", file);
            error.ShouldBeEmpty();
            exit.ShouldBe(0);
            output.ShouldContain("2 rows");
            File.Exists(file + ".partial").ShouldBeFalse();
            var text = await File.ReadAllTextAsync(file);
            text.ShouldStartWith(CsvWriter.FormatRecord(UsageCommands.Header));
            text.ShouldStartWith("UsageId,Call ID,Conference ID,User Location,AAD ObjectId,UPN,User Display Name,Caller ID,Call Type,Number Type,Domestic/International,Destination Dialed,Destination Number,Start Time,End Time,Duration Seconds,Connection Fee,Charge,Currency,Capability,");
            var lines = text.Split("\r\n");
            lines.Length.ShouldBe(4);
            lines[3].ShouldBeEmpty();
            text.ShouldContain(",0.06,EUR,");
            text.ShouldContain(",0.12,EUR,");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Ledger_statement_prints_opening_entries_and_closing()
    {
        // Proves "ledger statement" prints the opening balance, each entry and the closing totals from the stream.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(100_000_000);
        var tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var (exit, output, error) = await CliRun.RunAsync(gateway, "ledger", "statement", "--tenant", tenant, "--from", DateTime.UtcNow.AddDays(-30).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), "--before", tomorrow);
        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        output.ShouldContain("opening balance: 0.00 EUR");
        output.ShouldContain("closing balance: 100.00 EUR after 1 entries");
        output.ShouldContain("funded 100.00 EUR");
    }

    [Fact]
    public async Task Recharge_advise_prints_the_advice()
    {
        // Proves "recharge advise" calls AdviseRecharge and prints the advised trigger and recharge in the currency, with
        // each figure labelled by what it is: the percentile belongs to the lead-time windows, the median to the daily spend.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(100_000_000);
        var (exit, output, error) = await CliRun.RunAsync(gateway, "recharge", "advise", "--tenant", tenant, "--percentile", "90", "--lead-time-hours", "12", "--cover-days", "7");
        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        output.ShouldContain("trigger:");
        output.ShouldContain(" EUR");
        output.ShouldContain("typical daily spend: 0.00 EUR (median; recharge = 7 days of it)");
        output.ShouldContain("lead time spend:     0.00 EUR (percentile 90 of 12 h windows; the trigger covers it)");
    }

    [Fact]
    public async Task Balance_watch_prints_the_balance_then_its_change()
    {
        // Proves "balance watch" prints the balance when it begins (#1) and the change a funding makes (#2), then stops
        // at --max-changes.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(100_000_000);
        var watch = CliRun.RunAsync(gateway, "balance", "watch", "--tenant", tenant, "--max-changes", "2", "--watch-seconds", "60");
        for (var attempt = 0; attempt < 50 && !watch.IsCompleted; attempt++)
        {
            await Task.Delay(200);
            await gateway.Accounts.AddFundsAsync(new Contracts.V1.AddFundsRequest
            {
                TenantId = tenant, Amount = new Contracts.V1.Money { AmountMicros = 50_000_000, Currency = "EUR" }, IdempotencyKey = "watch-" + attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }

        var (exit, output, error) = await watch;
        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        output.ShouldContain("#1 balance 100.00 EUR");
        output.ShouldContain("#2 balance ");
    }
}
