namespace CommsCredits.Gateway.Hosting;

using System.Globalization;
using CommsCredits.Gateway.Accounts;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Operations;
using CommsCredits.Gateway.Provisioning;
using CommsCredits.Gateway.Reconciliation;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

/// <summary>
/// The gateway's commands: serve (the default), migrate, worker, seed-demo, the API key commands, reconcile and partitions. Besides a command's own
/// options, everything after it is configuration (--Section:Key=value), on top of appsettings.json and environment
/// variables (Section__Key, COMMSCREDITS_Section__Key): see <see cref="GatewayConfiguration"/>.
/// </summary>
public static class GatewayCommands
{
    public const string Usage =
        """
        usage: CommsCredits.Gateway [command | --role gateway|worker] [options] [--Section:Key=value ...]
          serve        apply migrations, then serve gRPC on Server:Endpoint (default http://127.0.0.1:5080) and GET /metrics
                       on Operations:Endpoint (default http://127.0.0.1:9464)
          migrate      apply pending PostgreSQL migrations and exit
          worker       apply migrations, then run the background work without serving gRPC: the recharge worker, the
                       notification dispatcher, the funding expiry job, session supervision, the pending-settlement
                       sweeper and the reconciliation job (several may run; gateways can leave recharges to them with
                       --Recharge:WorkerEnabled=false)
          seed-demo [--keys-file PATH]
                       migrate, then create tenant 'demo' (EUR) with 100 EUR, a sample rate table, three users, a
                       toll-free number, two minute pools and two API keys (network-element for tenant demo, admin for
                       all tenants), revoking those of earlier runs; prints the keys and writes them to PATH (mode
                       0600) as COMMSCREDITS_NETWORK_ELEMENT_KEY / _ADMIN_KEY
          create-key --role network-element|admin [--tenant T] [--description D]
                       create an API key (for tenant T only, if given) and print it: it cannot be shown again
          revoke-key KEY_ID
                       revoke a key; running gateways refuse it at once
          list-keys [--limit N]
                       list keys, newest first (ids, roles, tenants, dates, descriptions; never secrets)
          reconcile [--tenant T] [--repair]
                       compare, per tenant (or tenant T), Redis's balance with the ledger (counting settlements still
                       pending) and the call records with the ledger debits; print the numbers and a summary line.
                       --repair writes a drifted tenant's pending settlements to the ledger and rebuilds its Redis
                       state from the ledger. Exit 0 no drift, 1 drift found (even if repaired), 2 usage or storage error
          partitions list | partitions detach --before YYYY-MM
                       list the monthly partitions of ledger_entries and call_records; detach every month before
                       YYYY-MM (at most the month before the current one) into tables kept for archiving, carrying
                       their balances into ledger_checkpoints (docs/scaling.md); refused while Redis holds a pending
                       settlement dated in those months. Exit 0 done, 2 usage error or refused
        settings: Storage:Redis, Storage:Postgres, Server:Endpoint, Charging:*, Settlement:*, Ledger:*, Catalog:*, Accounts:*,
                  Funding:*, Recharge:*, Directory:*, Credentials:*, Supervision:*, Reconciliation:*, Notifications:*, Grpc:*,
                  Health:*, Operations:*, Logging:* (Logging:Console:FormatterName json or simple); from appsettings.json next to the dll, then
                  Section__Key and COMMSCREDITS_Section__Key environment variables, then --Section:Key=value (each wins
                  over the one before); a bad setting stops the command with exit 2 and a message naming it
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        // "--role worker" and "--role gateway" are the deployment names of the worker and serve commands.
        if (args.Length > 1 && string.Equals(args[0], "--role", StringComparison.Ordinal))
        {
            args = [args[1] switch { "worker" => "worker", "gateway" => "serve", _ => "--role " + args[1] }, .. args[2..]];
        }

        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        var settings = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        // serve stops on SIGINT/SIGTERM through the host's lifetime; the short commands simply run to the end.
        var stop = CancellationToken.None;
        try
        {
            return command switch
            {
                "serve" => await ServeAsync(settings, stop),
                "migrate" => await MigrateAsync(settings, stop),
                "worker" => await WorkAsync(settings, stop),
                "seed-demo" => await SeedDemoAsync(CommandArguments.Parse(settings, "keys-file"), stop),
                "create-key" => await KeyCommands.CreateAsync(CommandArguments.Parse(settings, "role", "tenant", "description"), stop),
                "revoke-key" => await KeyCommands.RevokeAsync(CommandArguments.Parse(settings), stop),
                "list-keys" => await KeyCommands.ListAsync(CommandArguments.Parse(settings, "limit"), stop),
                "reconcile" => await ReconcileCommand.RunAsync(settings, Console.Out, Console.Error, stop),
                "partitions" => await PartitionsCommand.RunAsync(settings, Console.Out, Console.Error, stop),
                "help" or "--help" or "-h" => await PrintUsageAsync(),
                _ => await FailAsync($"unknown command '{command}'"),
            };
        }
        catch (CommandUsageException exception)
        {
            return await FailAsync($"{command}: {exception.Message}");
        }
        catch (ConfigurationErrorException exception)
        {
            // An operator's mistake, not a bug: what to change, without a stack trace.
            foreach (var failure in exception.Failures)
            {
                await Console.Error.WriteLineAsync($"{command}: configuration error: {failure}");
            }

            return GatewayConfiguration.ExitConfigurationError;
        }
        catch (NpgsqlException exception) when (!StorageReached(exception))
        {
            // PostgreSQL down or misnamed at start (migrations come first): what failed, without a stack trace. Npgsql's
            // messages name the host and port, never the password.
            return await StartFailedAsync($"{command}: PostgreSQL (Storage:Postgres) could not be reached: {exception.Message}");
        }
        catch (IOException exception) when (exception.InnerException is AddressInUseException || exception.Message.StartsWith("Failed to bind", StringComparison.Ordinal))
        {
            // A port already taken (Server:Endpoint or Operations:Endpoint): Kestrel says which address.
            return await StartFailedAsync($"{command}: cannot listen: {exception.Message}");
        }
    }

    /// <summary>An error PostgreSQL itself answered (a constraint, a query) is a bug to show whole, not an outage.</summary>
    private static bool StorageReached(NpgsqlException exception) => exception is PostgresException { SqlState: not ("28P01" or "28000" or "3D000" or "57P03") };

    internal static IHost BuildCommandHost(string[] settings, Action<IServiceCollection, IConfiguration>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = settings, ContentRootPath = GatewayConfiguration.ContentRoot });
        GatewayConfiguration.AddGatewaySources(builder.Configuration, settings);
        // Logs go to standard error, so that what a command prints (a new key, say) can be captured from standard output.
        builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.AddChargingCore(builder.Configuration);
        configure?.Invoke(builder.Services, builder.Configuration);
        var host = builder.Build();
        try
        {
            GatewayConfiguration.ValidateNow(host.Services);
        }
        catch (ConfigurationErrorException)
        {
            host.Dispose();
            throw;
        }

        return host;
    }

    private static async Task<int> WorkAsync(string[] settings, CancellationToken cancellationToken)
    {
        // The worker has an operations listener too (Operations:*): the recharge and notification metrics are its.
        using var host = BuildCommandHost(settings, (services, configuration) => services.AddReconciliationJob().AddOperations(configuration));
        await GatewayApplication.MigrateAsync(host.Services, cancellationToken);
        // Stops on SIGINT/SIGTERM through the host's lifetime, flushing the settlement writer like serve does.
        await host.RunAsync(cancellationToken);
        return 0;
    }

    private static async Task<int> ServeAsync(string[] settings, CancellationToken cancellationToken)
    {
        await GatewayApplication.RunAsync(GatewayApplication.Build(settings), cancellationToken);
        return 0;
    }

    private static async Task<int> PrintUsageAsync()
    {
        await Console.Out.WriteLineAsync(Usage);
        return 0;
    }

    /// <summary>The process could not start its work (storage unreachable, a port taken): one line, exit 2.</summary>
    private static async Task<int> StartFailedAsync(string message)
    {
        await Console.Error.WriteLineAsync(message);
        return 2;
    }

    private static async Task<int> FailAsync(string message)
    {
        await Console.Error.WriteLineAsync($"{message}\n{Usage}");
        return 2;
    }

    private static async Task<int> MigrateAsync(string[] settings, CancellationToken cancellationToken)
    {
        using var host = BuildCommandHost(settings);
        var applied = await host.Services.GetRequiredService<SchemaMigrator>().ApplyAsync(cancellationToken);
        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"migrate: {applied} migration(s) applied, schema at version {SchemaMigrator.EmbeddedMigrations[^1].Version}"));
        return 0;
    }

    private static async Task<int> SeedDemoAsync(CommandArguments arguments, CancellationToken cancellationToken)
    {
        if (arguments.Positional.Count > 0)
        {
            return await FailAsync($"seed-demo takes no argument '{arguments.Positional[0]}'");
        }

        // The settlement writer must run (fundings are acknowledged only once the ledger holds them); the recharge worker
        // must not: a seed is no place to take payments.
        using var host = BuildCommandHost([.. arguments.Settings, "--Recharge:WorkerEnabled=false"]);
        await host.Services.GetRequiredService<SchemaMigrator>().ApplyAsync(cancellationToken);
        await host.StartAsync(cancellationToken);
        try
        {
            var balance = await DemoSeed.RunAsync(
                host.Services.GetRequiredService<AccountAdministration>(), host.Services.GetRequiredService<DirectoryAdministration>(), cancellationToken);
            await Console.Out.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"seed-demo: tenant '{DemoSeed.TenantId}' balance {balance.Balance.Balance_.AmountMicros} micros {balance.Balance.Balance_.Currency}, available {balance.Balance.Available.AmountMicros}"));
            var keys = await DemoSeed.CreateKeysAsync(host.Services.GetRequiredService<ApiKeyStore>(), cancellationToken);
            var keysFile = arguments.Option("keys-file");
            if (keysFile is not null)
            {
                await DemoSeed.WriteKeysFileAsync(keysFile, keys, cancellationToken);
            }

            await Console.Out.WriteAsync(DemoSeed.Describe(keys, keysFile));
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        return 0;
    }
}
