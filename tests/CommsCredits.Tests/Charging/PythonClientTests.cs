namespace CommsCredits.Tests.Charging;

using System.Diagnostics;
using System.Text.Json;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>A full call made by a gRPC client we did not write: Debian's C-core python3-grpcio.</summary>
public sealed class PythonClientTests
{
    [Fact]
    public async Task A_full_call_from_the_C_core_python_client_charges_rate_times_billed_time()
    {
        // Proves the acceptance path end to end with a foreign client: examples/python/call.py runs Reserve, two
        // Updates (60 s, 60 s) and Terminate (25 s) = 145 s at 0.06/min in 60/1 with a 0.01 fee = 0.155 EUR, and
        // afterwards the balance in Redis equals the ledger in PostgreSQL.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, Rate("44", 60_000, connectionFeeMicros: 10_000, first: 60, next: 1));

        var output = await RunAsync(
            "/usr/bin/python3", Path.Combine(RepositoryRoot(), "examples", "python", "call.py"),
            "--address", $"{gateway.Address.Host}:{gateway.Address.Port}", "--tenant", tenant, "--called", "+442079460000", "--used", "60", "60", "25");

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

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CommsCredits.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("CommsCredits.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task<string> RunAsync(string program, params string[] arguments)
    {
        if (!File.Exists(program))
        {
            throw new InvalidOperationException($"{program} is missing: apt-get install python3 python3-grpcio python3-protobuf protobuf-compiler (make test does it)");
        }

        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        process.ExitCode.ShouldBe(0, await errors);
        return await output;
    }
}
