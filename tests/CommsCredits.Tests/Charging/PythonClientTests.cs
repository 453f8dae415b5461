namespace CommsCredits.Tests.Charging;

using System.Diagnostics;
using System.Text.Json;
using CommsCredits.Gateway.Credentials;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>A full call made by a gRPC client we did not write: Debian's C-core python3-grpcio, with an API key.</summary>
public sealed class PythonClientTests
{
    [Fact]
    public async Task A_full_call_from_the_C_core_python_client_charges_rate_times_billed_time()
    {
        // Proves the acceptance path end to end with a foreign client: examples/python/call.py, with a
        // network-element key scoped to the tenant (from COMMSCREDITS_KEY, as `make call` passes it), runs Reserve,
        // two Updates (60 s, 60 s) and Terminate (25 s) = 145 s at 0.06/min in 60/1 with a 0.01 fee = 0.155 EUR, and
        // afterwards the balance in Redis equals the ledger in PostgreSQL.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, connectionFeeMicros: 10_000, first: 60, next: 1));
        var key = await gateway.CreateKeyAsync(ApiKeyRole.NetworkElement, tenant);

        var (exitCode, output, errors) = await RunCallAsync(gateway, key, "--tenant", tenant, "--called", "+442079460000", "--used", "60", "60", "25");
        exitCode.ShouldBe(0, output + errors);

        using var result = JsonDocument.Parse(output);
        var root = result.RootElement;
        root.GetProperty("reserve").GetProperty("result_code").GetInt32().ShouldBe(2001);
        root.GetProperty("update_1").GetProperty("charged_micros").GetInt64().ShouldBe(70_000);
        root.GetProperty("update_2").GetProperty("charged_micros").GetInt64().ShouldBe(60_000);
        var end = root.GetProperty("terminate");
        end.GetProperty("billed_seconds").GetInt32().ShouldBe(145);
        end.GetProperty("session_charged_micros").GetInt64().ShouldBe(155_000);
        end.GetProperty("currency").GetString().ShouldBe("EUR");

        var ledger = await gateway.LedgerAsync(tenant);
        ledger.Debited.ShouldBe(155_000);
        root.GetProperty("balance_micros").GetInt64().ShouldBe(ledger.Sum);
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((ledger.Sum, 0L));
    }

    [Fact]
    public async Task The_C_core_python_client_streams_a_rate_file_and_hears_a_refusal_naming_the_line()
    {
        // Proves ImportRateCsv with a client-streaming client we did not write: examples/python/import_rates.py sends
        // a good file in 7-byte chunks (borders inside lines and characters) and it is stored and prices calls; a
        // file whose line 3 is bad, followed by 5,000 good lines, is refused with INVALID_ARGUMENT naming line 3
        // while the client is still sending, and nothing of it is stored.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        var key = await gateway.CreateKeyAsync(ApiKeyRole.Admin, tenant);
        using var directory = new TemporaryDirectory();
        var good = Path.Combine(directory.Path, "good.csv");
        await File.WriteAllTextAsync(good, CommsCredits.Gateway.Rating.RateCsvReader.Header + "\r\n"
            + "outbound_pstn,44,\"Royaume-Uni, été\",0.06,0.01,60/1,2020-01-01T00:00:00Z\r\n"
            + "outbound_pstn,49,Deutschland,0.05,0,60/1,2020-01-01T00:00:00Z\r\n");

        var upload = await RunPythonAsync("import_rates.py", gateway, key, "--tenant", tenant, "--file", good, "--chunk-bytes", "7");
        upload.ExitCode.ShouldBe(0, upload.Output + upload.Errors);
        using var imported = JsonDocument.Parse(upload.Output);
        imported.RootElement.GetProperty("imported_rows").GetInt32().ShouldBe(2);
        var price = await gateway.Charging.PriceEnquiryAsync(new Contracts.V1.PriceEnquiryRequest
        {
            TenantId = tenant, CallType = Contracts.V1.CallType.OutboundPstn, CallingNumber = Calls.Caller, CalledNumber = Calls.UkFixed, Seconds = 60,
        });
        price.Cost.AmountMicros.ShouldBe(70_000);
        price.Rate.DestinationName.ShouldBe("Royaume-Uni, été");

        var bad = Path.Combine(directory.Path, "bad.csv");
        var lines = RateCsvImportTests.RateFile(5_000).Split('\n').ToList();
        lines.Insert(2, "outbound_pstn,33,France,0.05,0,60,2020-01-01T00:00:00Z");
        await File.WriteAllTextAsync(bad, string.Join('\n', lines));
        var refusal = await RunPythonAsync("import_rates.py", gateway, key, "--tenant", tenant, "--file", bad, "--chunk-bytes", "1024");
        refusal.ExitCode.ShouldBe(1, refusal.Output + refusal.Errors);
        using var refused = JsonDocument.Parse(refusal.Output);
        refused.RootElement.GetProperty("code").GetString().ShouldBe("INVALID_ARGUMENT");
        refused.RootElement.GetProperty("details").GetString().ShouldBe(
            "line 3: increments: must be the first and next increments in seconds, such as 60/1 (got '60')");
        (await gateway.Charging.PriceEnquiryAsync(new Contracts.V1.PriceEnquiryRequest
        {
            TenantId = tenant, CallType = Contracts.V1.CallType.OutboundPstn, CallingNumber = Calls.Caller, CalledNumber = "+33140000000", Seconds = 60,
        })).ResultCode.ShouldBe(Contracts.V1.ResultCode.RatingFailed);
    }

    [Fact]
    public async Task The_C_core_python_client_with_a_key_scoped_to_another_tenant_is_refused_and_charges_nothing()
    {
        // Proves scope enforcement against a foreign client: a key for tenant A used for tenant B gets
        // PERMISSION_DENIED on its first request, and B's balance and ledger are untouched.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000));
        var other = await gateway.CreateTenantAsync(1_000_000);
        var key = await gateway.CreateKeyAsync(ApiKeyRole.NetworkElement, other);

        var (exitCode, output, errors) = await RunCallAsync(gateway, key, "--tenant", tenant, "--called", "+442079460000");

        exitCode.ShouldBe(1, output + errors);
        using var result = JsonDocument.Parse(output);
        result.RootElement.GetProperty("error").GetProperty("code").GetString().ShouldBe("PERMISSION_DENIED");
        (await gateway.LedgerAsync(tenant)).ShouldBe((10_000_000L, 0L, 10_000_000L));
        (await gateway.RedisAccountAsync(tenant)).ShouldBe((10_000_000L, 0L));
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CommsCredits.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("CommsCredits.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs examples/python/call.py against the gateway with the key in COMMSCREDITS_KEY; its exit code, standard output and standard error.</summary>
    private static Task<(int ExitCode, string Output, string Errors)> RunCallAsync(GatewayInstance gateway, string key, params string[] arguments) =>
        RunPythonAsync("call.py", gateway, key, ["--user", "python@example.com", .. arguments]);

    /// <summary>Runs a script of examples/python against the gateway with the key in COMMSCREDITS_KEY.</summary>
    private static async Task<(int ExitCode, string Output, string Errors)> RunPythonAsync(string script, GatewayInstance gateway, string key, params string[] arguments)
    {
        const string Program = "/usr/bin/python3";
        if (!File.Exists(Program))
        {
            throw new InvalidOperationException($"{Program} is missing: apt-get install python3 python3-grpcio python3-protobuf protobuf-compiler (make test does it)");
        }

        var start = new ProcessStartInfo(Program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["COMMSCREDITS_KEY"] = key;
        start.ArgumentList.Add(Path.Combine(RepositoryRoot(), "examples", "python", script));
        start.ArgumentList.Add("--address");
        start.ArgumentList.Add($"{gateway.Address.Host}:{gateway.Address.Port}");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await errors);
    }

    private sealed class TemporaryDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("commscredits-rates-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
