namespace CommsCredits.Gateway.Hosting;

using System.Diagnostics.CodeAnalysis;
using CommsCredits.Gateway.Accounts;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Credentials;
using CommsCredits.Gateway.Funding;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Notifications;
using CommsCredits.Gateway.Recharge;
using CommsCredits.Gateway.Provisioning;
using CommsCredits.Gateway.Reconciliation;
using CommsCredits.Gateway.Reports;
using CommsCredits.Gateway.Storage;
using CommsCredits.Gateway.Supervision;
using CommsCredits.Gateway.Tenants;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

/// <summary>Registers everything but the network listener, so commands (migrate, seed-demo) share it with serve.</summary>
public static class ServiceRegistration
{
    public static IServiceCollection AddChargingCore(this IServiceCollection services, IConfiguration configuration)
    {
        AddValidatedOptions<StorageOptions>(services, configuration, StorageOptions.SectionName);
        AddValidatedOptions<ChargingOptions>(services, configuration, ChargingOptions.SectionName);
        AddValidatedOptions<SettlementOptions>(services, configuration, SettlementOptions.SectionName);
        AddValidatedOptions<LedgerOptions>(services, configuration, LedgerOptions.SectionName);
        AddValidatedOptions<TenantCatalogOptions>(services, configuration, TenantCatalogOptions.SectionName);
        AddValidatedOptions<AccountsOptions>(services, configuration, AccountsOptions.SectionName);
        AddValidatedOptions<CredentialsOptions>(services, configuration, CredentialsOptions.SectionName);
        AddValidatedOptions<FundingOptions>(services, configuration, FundingOptions.SectionName);
        AddValidatedOptions<RechargeOptions>(services, configuration, RechargeOptions.SectionName);
        AddValidatedOptions<DirectoryOptions>(services, configuration, DirectoryOptions.SectionName);
        AddValidatedOptions<SupervisionOptions>(services, configuration, SupervisionOptions.SectionName);
        AddValidatedOptions<ReconciliationOptions>(services, configuration, ReconciliationOptions.SectionName);
        AddValidatedOptions<ReportsOptions>(services, configuration, ReportsOptions.SectionName);
        services.AddSingleton<IValidateOptions<ChargingOptions>, ChargingOptionsValidator>();
        services.AddSingleton<IValidateOptions<DirectoryOptions>, DirectoryOptionsValidator>();
        AddValidatedOptions<NotificationsOptions>(services, configuration, NotificationsOptions.SectionName);
        services.AddSingleton<IValidateOptions<NotificationsOptions>, NotificationsOptionsValidator>();
        // Tests register their own clock first.
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton(provider => BuildDataSource(provider.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddKeyedSingleton(NotificationListener.DataSourceKey, (provider, _) => BuildListenerDataSource(provider.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddKeyedSingleton(LedgerBatchStore.DataSourceKey, (provider, _) => BuildWriterDataSource(
            provider.GetRequiredService<IOptions<StorageOptions>>().Value, provider.GetRequiredService<IOptions<SettlementOptions>>().Value));
        services.AddSingleton<IHotStore, RedisHotStore>();
        services.AddSingleton<SchemaMigrator>();
        services.AddSingleton<LedgerBatchStore>();
        services.AddSingleton<PendingSettlements>();
        // Only a detach reads Redis: migrate and `partitions list` must not wait for a Redis that does not answer.
        services.AddSingleton(provider => new Lazy<PendingSettlements>(provider.GetRequiredService<PendingSettlements>));
        services.AddSingleton<LedgerPartitions>();
        services.AddHostedService<LedgerPartitionMaintenance>();
        services.AddSingleton<SessionJournal>();
        services.AddSingleton<SettlementWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<SettlementWriter>());
        services.AddSingleton<PendingSettlementSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<PendingSettlementSweeper>());
        services.AddSingleton<HotStateLoader>();
        services.AddSingleton<HotState>();
        services.AddSingleton<BalanceCredits>();
        services.AddSingleton<TenantRepository>();
        services.AddSingleton<DirectoryRepository>();
        services.AddSingleton<TenantCatalog>();
        services.AddHostedService<TenantCatalogRefresher>();
        services.AddSingleton<CallRating>();
        services.AddSingleton<SessionCharging>();
        services.AddSingleton<EventCharging>();
        services.AddSingleton<SessionSupervisor>();
        services.AddHostedService(provider => provider.GetRequiredService<SessionSupervisor>());
        services.AddSingleton<LedgerReader>();
        services.AddSingleton<AutoRechargeSettings>();
        services.AddSingleton<AccountAdministration>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<ApiKeyCache>();
        services.AddHostedService<ApiKeyRefresher>();
        services.AddSingleton<RechargeRequests>();
        // The sandbox is the only provider built so far; a real one implements IPaymentProvider the same way.
        services.AddSingleton<IPaymentProvider, SandboxPaymentProvider>();
        services.AddSingleton<RechargeWorker>();
        services.AddHostedService(provider => provider.GetRequiredService<RechargeWorker>());
        services.AddSingleton<FundingExpiryJob>();
        services.AddHostedService(provider => provider.GetRequiredService<FundingExpiryJob>());
        services.AddSingleton<DirectoryAdministration>();
        // The scheduled reconciliation job is registered by the commands that run it (worker; serve when asked).
        services.AddSingleton<Reconciler>();
        services.AddSingleton<ExportSlots>();
        services.AddSingleton<UsageExport>();
        services.AddSingleton<LedgerStatement>();
        services.AddSingleton<RechargeAdvisor>();
        services.AddNotifications();
        return services;
    }

    private static void AddNotifications(this IServiceCollection services)
    {
        // No redirects: a redirected POST would reach another receiver, or become a GET without the event.
        services.AddHttpClient(WebhookChannel.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddSingleton<NotificationRepository>();
        services.AddSingleton<NotificationAdministration>();
        services.AddSingleton<DeliveryStore>();
        services.AddSingleton<WebhookChannel>();
        services.AddSingleton<EmailChannel>();
        services.AddSingleton<NotificationDispatcher>();
        services.AddHostedService(provider => provider.GetRequiredService<NotificationDispatcher>());
    }

    /// <summary>
    /// Binds the section and checks its data annotations at start-up, with messages that name the setting
    /// (<see cref="SettingsValidator{TOptions}"/>); the rules between settings are the options' own validators.
    /// </summary>
    internal static void AddValidatedOptions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] TOptions>(
        IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
    {
        services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>>(new SettingsValidator<TOptions>(section));
    }

    private static NpgsqlDataSource BuildDataSource(StorageOptions options)
    {
        var connection = ConnectionSettings(options);
        connection.MaxPoolSize = options.PostgresMaxPoolSize;
        return NpgsqlDataSource.Create(connection.ConnectionString);
    }

    /// <summary>
    /// The settlement writers' own pool, a connection for each writer (Settlement:WriterCount), beside the pool of
    /// Storage:PostgresMaxPoolSize. A batch leaves nothing in its session (one implicit transaction, transaction-level
    /// advisory locks), so a connection goes back to this pool without the reset Npgsql otherwise sends with its next
    /// command: 0.17 ms of PostgreSQL for every batch. A lone Reserve's batch went from 1.24-1.43 to 1.00-1.06 ms
    /// (docs/scaling.md).
    /// </summary>
    private static NpgsqlDataSource BuildWriterDataSource(StorageOptions options, SettlementOptions settlement)
    {
        var connection = ConnectionSettings(options);
        connection.MaxPoolSize = settlement.WriterCount;
        connection.NoResetOnClose = true;
        return NpgsqlDataSource.Create(connection.ConnectionString);
    }

    /// <summary>
    /// The notification listeners' connections (ApiKeyRefresher, TenantCatalogRefresher), outside every pool: each holds
    /// its own for as long as the process runs, and one that ends is closed with its LISTEN, never handed to another user.
    /// In the main pool the two of them took the whole of the smallest Storage:PostgresMaxPoolSize (2).
    /// </summary>
    private static NpgsqlDataSource BuildListenerDataSource(StorageOptions options)
    {
        var connection = ConnectionSettings(options);
        connection.Pooling = false;
        return NpgsqlDataSource.Create(connection.ConnectionString);
    }

    /// <summary>Storage:Postgres with the settings every data source of the process shares.</summary>
    private static NpgsqlConnectionStringBuilder ConnectionSettings(StorageOptions options)
    {
        var connection = new NpgsqlConnectionStringBuilder(options.Postgres) { CommandTimeout = options.PostgresCommandTimeoutSeconds };
        if (connection.MaxAutoPrepare == 0)
        {
            // The settlement batch is one large statement (a dozen CTEs over unnest): planning it on every batch costs more
            // than running it. Prepared statements are per connection and reused by every batch on it.
            connection.MaxAutoPrepare = 64;
            connection.AutoPrepareMinUsages = 2;
        }

        return connection;
    }
}
