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
    private static async Task<(int ExitCode, string Output, string Errors)> RunCallAsync(GatewayInstance gateway, string key, params string[] arguments)
    {
        const string Program = "/usr/bin/python3";
        if (!File.Exists(Program))
        {
            throw new InvalidOperationException($"{Program} is missing: apt-get install python3 python3-grpcio python3-protobuf protobuf-compiler (make test does it)");
        }

        var start = new ProcessStartInfo(Program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["COMMSCREDITS_KEY"] = key;
        start.ArgumentList.Add(Path.Combine(RepositoryRoot(), "examples", "python", "call.py"));
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
}
