namespace CommsCredits.Tests.Credentials;

using CommsCredits.Tests.Hosting;
using System.Diagnostics;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;

/// <summary>
/// The gateway's key commands and seed-demo's keys, run as the operator runs them: the gateway program in a process
/// of its own, on the database of a running gateway, whose answers show what the commands did.
/// </summary>
public sealed class KeyCommandTests(KeyCommandTests.Gateway fixture) : IClassFixture<KeyCommandTests.Gateway>
{
    [Fact]
    public async Task Create_key_prints_a_working_key_once_list_keys_shows_it_without_secret_and_revoke_key_ends_it()
    {
        // Proves the operator's round trip: create-key --tenant prints only the key on standard output, and it works
        // for that tenant; list-keys shows its id, role and tenant but not its secret; after revoke-key the gateway
        // refuses it.
        var gateway = fixture.Instance;
        var tenant = await gateway.CreateTenantAsync(2_000_000);

        var created = await RunAsync("create-key", "--role", "admin", "--tenant", tenant, "--description", "operator test");
        created.ExitCode.ShouldBe(0, created.Errors);
        var key = created.Output.Trim();
        var keyId = key[4..16];
        var accounts = new AccountsClient(gateway.Channel, key);
        (await accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant })).Balance.Balance_.AmountMicros.ShouldBe(2_000_000);

        var listed = await RunAsync("list-keys");
        listed.ExitCode.ShouldBe(0, listed.Errors);
        var line = listed.Output.Split('\n').Single(row => row.StartsWith(keyId, StringComparison.Ordinal));
        line.ShouldContain("admin");
        line.ShouldContain(tenant);
        line.ShouldContain("operator test");
        (listed.Output + listed.Errors).ShouldNotContain(key[17..]);

        var revoked = await RunAsync("revoke-key", keyId);
        revoked.ExitCode.ShouldBe(0, revoked.Errors);
        await Refusals.UnauthenticatedSoonAsync(() => accounts.GetBalanceAsync(new GetBalanceRequest { TenantId = tenant }));
    }

    [Theory]
    [InlineData(2, "create-key", "--role", "operator")]
    [InlineData(2, "create-key", "--role", "admin", "--tenant", "no-such-tenant")]
    [InlineData(2, "create-key", "--role", "admin", "--colour", "blue")]
    [InlineData(2, "revoke-key", "not-an-id")]
    [InlineData(1, "revoke-key", "zzzzzzzzzzzz")]
    public async Task Key_commands_refuse_bad_arguments_with_a_message_and_an_exit_code(int exitCode, params string[] arguments)
    {
        // Proves wrong roles, unknown tenants, unknown options and unknown or malformed key ids stop the command with
        // a non-zero exit code and a message, and print no key.
        var result = await RunAsync(arguments);
        result.ExitCode.ShouldBe(exitCode, result.Output + result.Errors);
        result.Errors.ShouldNotBeEmpty();
        result.Output.ShouldNotContain("cck_");
    }

    [Fact]
    public async Task Seed_demo_writes_working_demo_keys_to_a_private_file_and_revokes_those_of_its_previous_run()
    {
        // Proves what `make run` and `make call` rely on: seed-demo prints both keys and writes them to the keys file
        // with mode 0600; the network-element key charges tenant demo and nothing else, the admin key administers;
        // a second run replaces them and the first run's keys are refused.
        var gateway = fixture.Instance;
        var directory = Directory.CreateTempSubdirectory("commscredits-demo-keys-");
        try
        {
            var keysFile = Path.Combine(directory.FullName, "demo-keys.env");
            var first = await SeedDemoAsync(keysFile);
            (OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(keysFile)).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var charging = new ChargingClient(gateway.Channel, first.NetworkElement);
            (await charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = DemoSeed.TenantId })).ResultCode.ShouldBe(ResultCode.Success);
            var elsewhere = await Should.ThrowAsync<RpcException>(() => charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = "nobody" }));
            elsewhere.StatusCode.ShouldBe(StatusCode.PermissionDenied);
            var admin = new AccountsClient(gateway.Channel, first.Admin);
            (await admin.GetBalanceAsync(new GetBalanceRequest { TenantId = DemoSeed.TenantId })).Balance.Balance_.AmountMicros.ShouldBe(DemoSeed.FundingMicros);

            var second = await SeedDemoAsync(keysFile);
            string.Equals(second.NetworkElement, first.NetworkElement, StringComparison.Ordinal).ShouldBeFalse();
            await Refusals.UnauthenticatedSoonAsync(() => charging.CheckBalanceAsync(new CheckBalanceRequest { TenantId = DemoSeed.TenantId }));
            await Refusals.UnauthenticatedSoonAsync(() => admin.GetBalanceAsync(new GetBalanceRequest { TenantId = DemoSeed.TenantId }));
            var renewed = new ChargingClient(gateway.Channel, second.NetworkElement);
            (await renewed.CheckBalanceAsync(new CheckBalanceRequest { TenantId = DemoSeed.TenantId })).ResultCode.ShouldBe(ResultCode.Success);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Runs seed-demo; checks it printed both keys and wrote the same ones to the file.</summary>
    private async Task<(string NetworkElement, string Admin)> SeedDemoAsync(string keysFile)
    {
        var result = await RunAsync("seed-demo", "--keys-file", keysFile, "--Storage:Redis=" + fixture.Instance.RedisSetting);
        result.ExitCode.ShouldBe(0, result.Errors);
        var variables = (await File.ReadAllLinesAsync(keysFile))
            .Where(line => line.StartsWith("COMMSCREDITS_", StringComparison.Ordinal))
            .Select(line => line.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
        var keys = (variables[DemoSeed.NetworkElementKeyVariable], variables[DemoSeed.AdminKeyVariable]);
        result.Output.ShouldContain(keys.Item1);
        result.Output.ShouldContain(keys.Item2);
        return keys;
    }

    /// <summary>Runs the gateway program on the fixture gateway's database.</summary>
    private Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] arguments) =>
        GatewayProgram.RunAsync([.. arguments, "--Storage:Postgres=" + fixture.Instance.PostgresConnectionString]);

    /// <summary>The gateway whose database the commands work on.</summary>
    public sealed class Gateway : IAsyncLifetime
    {
        public GatewayInstance Instance { get; private set; } = null!;

        public async Task InitializeAsync() => Instance = await GatewayInstance.StartAsync();

        public async Task DisposeAsync()
        {
            Instance.Errors.Entries.ShouldBeEmpty();
            await Instance.DisposeAsync();
        }
    }
}
