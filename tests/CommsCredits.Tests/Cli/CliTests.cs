namespace CommsCredits.Tests.Cli;

using System.Diagnostics;
using CommsCredits.Contracts.V1;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>The commscredits command line against a real gateway.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task Balance_prints_balance_held_available_and_the_lots()
    {
        // Proves "balance" reads GetBalance and prints the amounts exactly in the tenant's currency, with the lot table.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(123_450_000);
        var (exit, output, error) = await CliRun.RunAsync(gateway, "balance", "--tenant", tenant);
        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        output.ShouldContain("balance:   123.45 EUR");
        output.ShouldContain("held:      0.00 EUR");
        output.ShouldContain("available: 123.45 EUR");
        output.ShouldContain("OneOffFunding");
    }

    [Fact]
    public async Task Funds_add_with_the_same_idempotency_key_twice_funds_once()
    {
        // Proves "funds add" parses the amount exactly and that a retry with the same key adds nothing more.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateEmptyTenantAsync();
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var (exit, output, error) = await CliRun.RunAsync(gateway, "funds", "add", "--tenant", tenant, "--amount", "50.25", "--idempotency-key", "pay-1");
            error.ShouldBeEmpty();
            exit.ShouldBe(0);
            output.ShouldContain("funded:    50.25 EUR");
            output.ShouldContain("balance:   50.25 EUR");
        }

        (await gateway.Accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant })).Balance.Balance_.AmountMicros.ShouldBe(50_250_000);
    }

    [Fact]
    public async Task An_amount_with_more_decimals_than_the_currency_is_a_usage_error()
    {
        // Proves "50.001" EUR is refused before anything is sent (exit 2) and the balance stays empty.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateEmptyTenantAsync();
        var (exit, output, error) = await CliRun.RunAsync(gateway, "funds", "add", "--tenant", tenant, "--amount", "50.001", "--idempotency-key", "pay-1");
        exit.ShouldBe(2);
        output.ShouldBeEmpty();
        error.ShouldBe("commscredits: --amount: amount '50.001' has 3 decimals; EUR has 2" + Environment.NewLine);
        (await gateway.Accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant })).Balance.Balance_.AmountMicros.ShouldBe(0);
    }

    [Fact]
    public async Task A_wrong_key_is_one_UNAUTHENTICATED_line_and_exit_1_without_the_key()
    {
        // Proves a gRPC error becomes one line on stderr with the status name, exit code 1, and the key is not echoed.
        var gateway = await SharedGateway.GetAsync();
        const string wrongKey = "wrong-key-123456789";
        var (exit, output, error) = await CliRun.RunAsync(gateway.Address.ToString(), wrongKey, "balance", "--tenant", "anyone");
        exit.ShouldBe(1);
        output.ShouldBeEmpty();
        error.ShouldStartWith("commscredits: UNAUTHENTICATED: ");
        error.TrimEnd().ShouldNotContain("\n");
        error.ShouldNotContain(wrongKey);
    }

    [Fact]
    public async Task Tenants_create_and_update()
    {
        // Proves "tenants create" and "tenants update" reach Accounts and print the stored tenant.
        var gateway = await SharedGateway.GetAsync();
        var tenant = "cli-" + Guid.NewGuid().ToString("N")[..8];
        var created = await CliRun.RunAsync(gateway, "tenants", "create", "--tenant", tenant, "--currency", "JPY", "--display-name", "Cli Test");
        created.Error.ShouldBeEmpty();
        created.Out.ShouldContain("currency:              JPY");
        var updated = await CliRun.RunAsync(gateway, "tenants", "update", "--tenant", tenant, "--display-name", "Renamed");
        updated.Error.ShouldBeEmpty();
        updated.Out.ShouldContain("display name:          Renamed");
        var funded = await CliRun.RunAsync(gateway, "funds", "add", "--tenant", tenant, "--amount", "5000", "--idempotency-key", "k");
        funded.Error.ShouldBeEmpty();
        funded.Out.ShouldContain("funded:    5000 JPY");
    }

    [Fact]
    public async Task Users_put_get_list_licences_and_remove()
    {
        // Proves the user commands, and that granting and revoking the licence keeps the rest of the user as it was.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateEmptyTenantAsync();
        var put = await CliRun.RunAsync(gateway, "users", "put", "--tenant", tenant, "--user", "u1", "--upn", "u1@example.com", "--display-name", "User One", "--location", "FR", "--calling-plan", "PayAsYouGo");
        put.Error.ShouldBeEmpty();
        put.Out.ShouldContain("licence:            no");

        var granted = await CliRun.RunAsync(gateway, "licences", "grant", "--tenant", tenant, "--user", "u1");
        granted.Error.ShouldBeEmpty();
        var stored = await gateway.Directory.GetUserAsync(new GetUserRequest { TenantId = tenant, UserId = "u1" });
        stored.CommunicationsCreditsLicence.ShouldBeTrue();
        stored.DisplayName.ShouldBe("User One");
        stored.LocationCountry.ShouldBe("FR");
        stored.CallingPlan.ShouldBe(CallingPlan.PayAsYouGo);

        (await CliRun.RunAsync(gateway, "licences", "revoke", "--tenant", tenant, "--user", "u1")).Exit.ShouldBe(0);
        (await CliRun.RunAsync(gateway, "users", "get", "--tenant", tenant, "--user", "u1")).Out.ShouldContain("licence:            no");
        var listed = await CliRun.RunAsync(gateway, "users", "list", "--tenant", tenant);
        listed.Out.ShouldContain("u1@example.com");
        listed.Out.ShouldContain("1 users");
        (await CliRun.RunAsync(gateway, "users", "remove", "--tenant", tenant, "--user", "u1")).Exit.ShouldBe(0);
        var gone = await CliRun.RunAsync(gateway, "users", "get", "--tenant", tenant, "--user", "u1");
        gone.Exit.ShouldBe(1);
        gone.Error.ShouldStartWith("commscredits: NOT_FOUND: ");
    }

    [Fact]
    public async Task Auto_recharge_set_then_get()
    {
        // Proves auto-recharge amounts are parsed exactly into micros and read back formatted the same.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateEmptyTenantAsync();
        var set = await CliRun.RunAsync(gateway, "auto-recharge", "set", "--tenant", tenant, "--enabled", "true", "--trigger", "10.5", "--recharge", "75.00", "--payment-method", "pm_123");
        set.Error.ShouldBeEmpty();
        set.Exit.ShouldBe(0);
        var stored = await gateway.Accounts.GetAutoRechargeAsync(new GetAutoRechargeRequest { TenantId = tenant });
        stored.Trigger.AmountMicros.ShouldBe(10_500_000);
        stored.Recharge.AmountMicros.ShouldBe(75_000_000);
        var get = await CliRun.RunAsync(gateway, "auto-recharge", "get", "--tenant", tenant);
        get.Out.ShouldContain("trigger:        10.50 EUR");
        get.Out.ShouldContain("recharge:       75.00 EUR");
        get.Out.ShouldContain("enabled:        true");
    }

    [Fact]
    public async Task Rates_import_stores_a_good_file_and_names_the_bad_line_of_another()
    {
        // Proves "rates import" streams the file and reports the rows, and that a refused file's error names its line.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateEmptyTenantAsync();
        var directory = Directory.CreateTempSubdirectory("cli-rates-");
        try
        {
            var header = CommsCredits.Gateway.Rating.RateCsvReader.Header;
            var good = Path.Combine(directory.FullName, "good.csv");
            await File.WriteAllTextAsync(good, header + "\r\noutbound_pstn,44,UK,0.025,0,60/1,2026-01-01T00:00:00Z\r\noutbound_pstn,33,France,0.03,0.01,60/1,2026-01-01T00:00:00Z\r\n");
            var imported = await CliRun.RunAsync(gateway, "rates", "import", "--tenant", tenant, "--file", good);
            imported.Error.ShouldBeEmpty();
            imported.Out.ShouldContain("imported 2 rows");

            var bad = Path.Combine(directory.FullName, "bad.csv");
            await File.WriteAllTextAsync(bad, header + "\noutbound_pstn,44,UK,0.025,0,60/1,2026-01-01T00:00:00Z\noutbound_pstn,49,Germany,cheap,0,60/1,2026-01-01T00:00:00Z\n");
            var refused = await CliRun.RunAsync(gateway, "rates", "import", "--tenant", tenant, "--file", bad);
            refused.Exit.ShouldBe(1);
            refused.Error.ShouldStartWith("commscredits: INVALID_ARGUMENT: ");
            refused.Error.ShouldContain("line 3");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Ledger_list_follows_every_page()
    {
        // Proves "ledger list" follows next_page_token: three fundings at one entry a page all appear.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateEmptyTenantAsync();
        foreach (var key in new[] { "a", "b", "c" })
        {
            (await CliRun.RunAsync(gateway, "funds", "add", "--tenant", tenant, "--amount", "50", "--idempotency-key", key)).Exit.ShouldBe(0);
        }

        var (exit, output, error) = await CliRun.RunAsync(gateway, "ledger", "list", "--tenant", tenant, "--page-size", "1");
        error.ShouldBeEmpty();
        exit.ShouldBe(0);
        output.ShouldContain("3 entries");
        output.Split("50.00 EUR").Length.ShouldBe(4);
    }

    [Fact]
    public async Task The_script_prints_help_as_a_process()
    {
        // Proves ./commscredits builds the tool (or reuses the build) and runs it from another directory: --help exits 0.
        var repository = FindRepository();
        var start = new ProcessStartInfo(Path.Combine(repository, "commscredits"), "--help")
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath(),
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        (await error).ShouldBeEmpty();
        process.ExitCode.ShouldBe(0);
        (await output).ShouldContain("funds");
        (await output).ShouldContain("usage");
        (await output).ShouldContain("commscredits [command] [options]");
    }

    private static string FindRepository()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        for (var depth = 0; depth < 12 && directory is not null; depth++, directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "commscredits")) && File.Exists(Path.Combine(directory.FullName, "CommsCredits.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("the repository holding ./commscredits is not above " + AppContext.BaseDirectory);
    }
}
