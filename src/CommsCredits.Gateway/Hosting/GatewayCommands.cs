namespace CommsCredits.Gateway.Hosting;

using System.Globalization;
using CommsCredits.Gateway.Accounts;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Provisioning;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

/// <summary>
/// The gateway's commands: serve (the default), migrate, seed-demo. Everything after the command is configuration
/// (--Section:Key=value), on top of appsettings.json and environment variables (Section__Key).
/// </summary>
public static class GatewayCommands
{
    public const string Usage =
        """
        usage: CommsCredits.Gateway [serve|migrate|seed-demo] [--Section:Key=value ...]
          serve       apply migrations, then serve gRPC on Server:Endpoint (default http://127.0.0.1:5080)
          migrate     apply pending PostgreSQL migrations and exit
          seed-demo   migrate, then create tenant 'demo' (EUR) with 100 EUR, a sample rate table, three users,
                      a toll-free number and two minute pools
        settings: Storage:Redis, Storage:Postgres, Server:Endpoint, Charging:*, Settlement:*, Catalog:*, Accounts:*, Directory:*, Grpc:*
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        var settings = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        // serve stops on SIGINT/SIGTERM through the host's lifetime; the short commands simply run to the end.
        var stop = CancellationToken.None;
        switch (command)
        {
            case "serve":
                await GatewayApplication.RunAsync(GatewayApplication.Build(settings), stop);
                return 0;
            case "migrate":
                return await MigrateAsync(settings, stop);
            case "seed-demo":
                return await SeedDemoAsync(settings, stop);
            case "help" or "--help" or "-h":
                await Console.Out.WriteLineAsync(Usage);
                return 0;
            default:
                await Console.Error.WriteLineAsync($"unknown command '{command}'\n{Usage}");
                return 2;
        }
    }

    private static async Task<int> MigrateAsync(string[] settings, CancellationToken cancellationToken)
    {
        using var host = BuildCommandHost(settings);
        var applied = await host.Services.GetRequiredService<SchemaMigrator>().ApplyAsync(cancellationToken);
        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"migrate: {applied} migration(s) applied, schema at version {SchemaMigrator.EmbeddedMigrations[^1].Version}"));
        return 0;
    }

    private static async Task<int> SeedDemoAsync(string[] settings, CancellationToken cancellationToken)
    {
        using var host = BuildCommandHost(settings);
        await host.Services.GetRequiredService<SchemaMigrator>().ApplyAsync(cancellationToken);
        // The settlement writer must run: fundings are acknowledged only once the ledger holds them.
        await host.StartAsync(cancellationToken);
        try
        {
            var balance = await DemoSeed.RunAsync(
                host.Services.GetRequiredService<AccountAdministration>(), host.Services.GetRequiredService<DirectoryAdministration>(), cancellationToken);
            await Console.Out.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"seed-demo: tenant '{DemoSeed.TenantId}' balance {balance.Balance.Balance_.AmountMicros} micros {balance.Balance.Balance_.Currency}, available {balance.Balance.Available.AmountMicros}"));
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        return 0;
    }

    private static IHost BuildCommandHost(string[] settings)
    {
        var builder = Host.CreateApplicationBuilder(settings);
        builder.Services.AddChargingCore(builder.Configuration);
        return builder.Build();
    }
}
