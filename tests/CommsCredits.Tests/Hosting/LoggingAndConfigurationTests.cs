namespace CommsCredits.Tests.Hosting;

using System.Text.Json;
using System.Text.RegularExpressions;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Infrastructure;
using Shouldly;
using Xunit;

/// <summary>
/// The gateway program's configuration and logs as an operator meets them: the gateway run as a process, with its
/// settings in appsettings.json, the environment and the command line, and its console output read back.
/// </summary>
public sealed partial class LoggingAndConfigurationTests
{
    [Theory]
    [InlineData("serve", "--Settlement:MaxBatchSize=0", "Settlement:MaxBatchSize must be between 1 and 10000 (got 0)")]
    [InlineData("worker", "--Settlement:MaxBatchSize=0", "Settlement:MaxBatchSize must be between 1 and 10000 (got 0)")]
    [InlineData("migrate", "--Storage:PostgresMaxPoolSize=1", "Storage:PostgresMaxPoolSize must be between 2 and 1000 (got 1)")]
    [InlineData("serve", "--Accounts:MaxFundingMicros=0", "Accounts:MaxFundingMicros must be between 1 and 1000000000000000 (got 0)")]
    [InlineData("serve", "--Supervision:Policy=sometimes", "'Supervision:Policy'")]
    [InlineData("serve", "--Charging:DefaultGrantSeconds=901", "Charging:DefaultGrantSeconds (901) must not exceed Charging:MaxGrantSeconds (900)")]
    public async Task A_bad_setting_stops_the_start_with_a_non_zero_exit_and_a_message_naming_it_without_a_stack_trace(string command, string setting, string message)
    {
        // Proves each command checks every setting before it does anything (no storage is running for it here): the process
        // exits 2, says which setting to change in words, and prints no exception or stack trace.
        var result = await GatewayProgram.RunAsync([command, setting, "--Storage:Postgres=Host=127.0.0.1;Port=1;Username=nobody;Database=none", "--Storage:Redis=127.0.0.1:1"]);
        var printed = result.Output + result.Errors;
        result.ExitCode.ShouldBe(2, printed);
        result.Errors.ShouldContain(command + ": configuration error: ");
        result.Errors.ShouldContain(message);
        printed.ShouldNotContain("   at ");
        printed.ShouldNotContain("Exception");
    }

    [Fact]
    public async Task The_environment_overrides_appsettings_json_the_prefixed_environment_the_plain_one_and_the_command_line_both()
    {
        // Proves the order of precedence on Server:Endpoint, whose value the start-up check repeats when it is wrong:
        // appsettings.json's valid endpoint loses to Server__Endpoint, which loses to COMMSCREDITS_Server__Endpoint,
        // which loses to --Server:Endpoint.
        var plain = new Dictionary<string, string>(StringComparer.Ordinal) { ["Server__Endpoint"] = "ftp://plain-environment" };
        var both = new Dictionary<string, string>(plain, StringComparer.Ordinal) { ["COMMSCREDITS_Server__Endpoint"] = "ftp://prefixed-environment" };

        (await EndpointComplaintAsync(plain, [])).ShouldContain("(got 'ftp://plain-environment')");
        (await EndpointComplaintAsync(both, [])).ShouldContain("(got 'ftp://prefixed-environment')");
        (await EndpointComplaintAsync(both, ["--Server:Endpoint=ftp://command-line"])).ShouldContain("(got 'ftp://command-line')");
    }

    [Fact]
    public async Task Started_from_another_directory_the_gateway_reads_its_appsettings_json_and_logs_json_lines_with_utc_timestamps()
    {
        // Proves appsettings.json is found next to the dll, not in the working directory: the JSON console format is set
        // only there, and migrate run from an empty directory logs JSON entries, one per line, with a UTC ISO 8601
        // timestamp. And that Logging:Console:FormatterName=simple gives the readable format back.
        var servers = await TestServers.SharedAsync();
        var elsewhere = Directory.CreateTempSubdirectory("commscredits-cwd-");
        try
        {
            var json = await GatewayProgram.RunAsync(
                ["migrate", "--Storage:Postgres=" + await servers.CreateDatabaseAsync("logs"), "--Storage:Redis=" + servers.RedisConfiguration], environment: null, elsewhere.FullName);
            json.ExitCode.ShouldBe(0, json.Errors);
            var entries = json.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
            var applied = entries.First(entry => string.Equals(entry.GetProperty("Category").GetString(), "CommsCredits.Gateway.Ledger.SchemaMigrator", StringComparison.Ordinal));
            applied.GetProperty("LogLevel").GetString().ShouldBe("Information");
            applied.GetProperty("Message").GetString()!.ShouldStartWith("Applied migration 1 ");
            applied.GetProperty("State").GetProperty("Version").ToString().ShouldBe("1");
            UtcTimestamp().IsMatch(applied.GetProperty("Timestamp").GetString()!).ShouldBeTrue(applied.ToString());

            var simple = await GatewayProgram.RunAsync(
                ["migrate", "--Storage:Postgres=" + await servers.CreateDatabaseAsync("logs"), "--Storage:Redis=" + servers.RedisConfiguration, "--Logging:Console:FormatterName=simple"],
                environment: null,
                elsewhere.FullName);
            simple.ExitCode.ShouldBe(0, simple.Errors);
            simple.Errors.ShouldContain("info: CommsCredits.Gateway.Ledger.SchemaMigrator[");
            simple.Errors.ShouldNotContain("\"Category\"");
        }
        finally
        {
            elsewhere.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Logs_carry_the_session_and_tenant_of_a_charging_request_and_never_a_password_or_an_api_key()
    {
        // Proves, on a gateway process logging at Debug with a password in its PostgreSQL connection string: a line logged
        // while charging a Reserve (the rebuild of the tenant's lost Redis state) has the request's SessionId and TenantId
        // as fields of its scope, and so does the transport's line about how an invalid Reserve ended (logged after the
        // handler's own scope is gone); and neither the password nor the API key (whole or its secret) appears in
        // anything it printed, through a Reserve, a refused key and a stop. Then a command that fails to reach storage
        // with passwords in both connection settings does not print them either.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(10_000_000, GatewayInstance.Rate("44", 10_000));
        await gateway.LoseHotStateAsync(tenant);
        var password = "pg-" + Guid.NewGuid().ToString("N");
        var key = gateway.NetworkElementKey;
        var sessionId = Calls.NewSessionId();
        string printed;
        await using (var serve = await GatewayProgram.StartServeAsync(
            [
                "--Server:Endpoint=http://127.0.0.1:0", "--Storage:Redis=" + gateway.RedisSetting, "--Storage:Postgres=" + gateway.PostgresConnectionString + ";Password=" + password,
                "--Logging:LogLevel:Default=Debug", "--Logging:LogLevel:Microsoft.AspNetCore=Debug", "--Supervision:Enabled=false", "--Recharge:WorkerEnabled=false",
            ]))
        {
            using var channel = GrpcChannel.ForAddress(serve.Address);
            var answer = await new ChargingClient(channel, key).ReserveAsync(Calls.Reserve(tenant, sessionId, 60));
            answer.ResultCode.ShouldBe(ResultCode.Success);
            var invalidSession = Calls.NewSessionId();
            var invalid = await Should.ThrowAsync<RpcException>(() => new ChargingClient(channel, key).ReserveAsync(Calls.Reserve(tenant, invalidSession, 60, called: "0044")));
            invalid.StatusCode.ShouldBe(StatusCode.InvalidArgument);
            var wrongSecret = key[..^4] + (string.Equals(key[^4..], "AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
            var refused = await Should.ThrowAsync<RpcException>(() => new ChargingClient(channel, wrongSecret).ReserveAsync(Calls.Reserve(tenant, Calls.NewSessionId(), 60)));
            refused.StatusCode.ShouldBe(StatusCode.Unauthenticated);
            await Terminated(channel, key, tenant, sessionId);

            var rebuild = await LineAsync(serve, "CommsCredits.Gateway.Balances.HotStateLoader", tenant);
            var scope = rebuild.GetProperty("Scopes").EnumerateArray().Single(element => element.ValueKind == JsonValueKind.Object && element.TryGetProperty("SessionId", out _));
            scope.GetProperty("SessionId").GetString().ShouldBe(sessionId);
            scope.GetProperty("TenantId").GetString().ShouldBe(tenant);
            // The transport's own line about how the refused Reserve ended carries the same fields.
            var ended = await LineAsync(serve, "CommsCredits.Grpc.Server", "ended with InvalidArgument");
            var endedScope = ended.GetProperty("Scopes").EnumerateArray().Single(element => element.ValueKind == JsonValueKind.Object && element.TryGetProperty("SessionId", out _));
            (endedScope.GetProperty("SessionId").GetString(), endedScope.GetProperty("TenantId").GetString()).ShouldBe((invalidSession, tenant));
            printed = serve.Output;
        }

        printed.ShouldNotContain(password);
        printed.ShouldNotContain(key);
        printed.ShouldNotContain(key[17..]);

        var failed = await GatewayProgram.RunAsync(
            ["migrate", "--Storage:Postgres=Host=127.0.0.1;Port=1;Username=postgres;Password=" + password + ";Database=none;Timeout=2", "--Storage:Redis=127.0.0.1:1,password=" + password]);
        failed.ExitCode.ShouldBe(2);
        (failed.Output + failed.Errors).ShouldNotContain(password);
    }

    [Fact]
    public async Task A_gateway_that_cannot_reach_PostgreSQL_or_take_its_port_says_so_in_one_line_and_exits_2()
    {
        // Proves the start-up failures an operator meets are answered like configuration errors: what failed and the
        // setting or address involved, exit 2, no stack trace (before: an unhandled-exception dump, exit 134).
        var unreachable = await GatewayProgram.RunAsync(["worker", "--Storage:Postgres=Host=127.0.0.1;Port=1;Username=nobody;Database=none;Timeout=2"]);
        unreachable.ExitCode.ShouldBe(2, unreachable.Output + unreachable.Errors);
        unreachable.Errors.ShouldContain("worker: PostgreSQL (Storage:Postgres) could not be reached: Failed to connect to 127.0.0.1:1");
        unreachable.Errors.ShouldNotContain("   at ");

        var gateway = await SharedGateway.GetAsync();
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var busy = await GatewayProgram.RunAsync(
            ["serve", "--Server:Endpoint=http://127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--Storage:Postgres=" + gateway.PostgresConnectionString, "--Storage:Redis=" + gateway.RedisSetting]);
        busy.ExitCode.ShouldBe(2, busy.Output + busy.Errors);
        busy.Errors.ShouldContain("serve: cannot listen: Failed to bind to address http://127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        busy.Errors.ShouldNotContain("   at ");
    }

    private static async Task Terminated(GrpcChannel channel, string key, string tenant, string sessionId)
    {
        var answer = await new ChargingClient(channel, key).TerminateAsync(Calls.Terminate(tenant, sessionId, 1, 30));
        answer.ResultCode.ShouldBe(ResultCode.Success);
    }

    /// <summary>The first JSON entry of the category that mentions the text, waiting a little for it to be printed.</summary>
    private static async Task<JsonElement> LineAsync(GatewayProgram.ServeProcess serve, string category, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var line = serve.Lines.FirstOrDefault(line => line.StartsWith('{') && line.Contains("\"Category\":\"" + category + "\"", StringComparison.Ordinal) && line.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return JsonDocument.Parse(line).RootElement;
            }

            DateTime.UtcNow.ShouldBeLessThan(deadline, $"no {category} line about {text}:\n{serve.Output}");
            await Task.Delay(50);
        }
    }

    private static async Task<string> EndpointComplaintAsync(Dictionary<string, string> environment, string[] arguments)
    {
        var result = await GatewayProgram.RunAsync(["serve", .. arguments], environment, workingDirectory: null);
        result.ExitCode.ShouldBe(2, result.Output + result.Errors);
        return result.Errors;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", RegexOptions.None, matchTimeoutMilliseconds: 1_000)]
    private static partial Regex UtcTimestamp();
}
