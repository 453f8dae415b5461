namespace CommsCredits.Gateway.Hosting;

using System.Globalization;
using System.Text;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Reconciliation;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StackExchange.Redis;

/// <summary>
/// reconcile [--tenant T] [--repair]: compares Redis, the ledger and the call records per tenant (docs/charging.md,
/// "Reconciliation"), prints a table, the drift in words and a summary line. Exit codes: 0 no drift, 1 drift found
/// (also when it was repaired), 2 a usage error or storage that cannot be reached.
/// </summary>
public static class ReconcileCommand
{
    public const int ExitConsistent = 0;
    public const int ExitDrift = 1;
    public const int ExitFailure = 2;

    private static readonly CompositeFormat Row = CompositeFormat.Parse("{0,-24}  {1,-24}  {2,16}  {3,16}  {4,14}  {5,14}  {6,16}  {7,16}  {8}\n");

    /// <summary>Runs the command with the arguments after its name; the report goes to <paramref name="output"/>, errors to <paramref name="errors"/>.</summary>
    public static async Task<int> RunAsync(string[] arguments, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(errors);
        CommandArguments parsed;
        try
        {
            parsed = CommandArguments.Parse(arguments, ["repair"], "tenant");
        }
        catch (CommandUsageException exception)
        {
            return await FailAsync(errors, "reconcile: " + exception.Message + "\nusage: reconcile [--tenant T] [--repair] [--Section:Key=value ...]");
        }

        if (parsed.Positional.Count > 0)
        {
            return await FailAsync(errors, $"reconcile takes no argument '{parsed.Positional[0]}'\nusage: reconcile [--tenant T] [--repair] [--Section:Key=value ...]");
        }

        using var host = GatewayCommands.BuildCommandHost(parsed.Settings);
        try
        {
            await GatewayApplication.MigrateAsync(host.Services, cancellationToken);
            return await ReconcileAsync(host.Services, new Report(output, errors), parsed.Option("tenant"), parsed.Flag("repair"), cancellationToken);
        }
        catch (Exception exception) when (exception is StorageUnavailableException or NpgsqlException or RedisException or TimeoutException)
        {
            return await FailAsync(errors, "reconcile: storage cannot be reached, nothing was checked to the end: " + exception.Message);
        }
    }

    private static async Task<int> ReconcileAsync(IServiceProvider services, Report report, string? tenantId, bool repair, CancellationToken cancellationToken)
    {
        var reconciler = services.GetRequiredService<Reconciler>();
        // A repair writes the tenant's pending settlements through the settlement writer, so it runs for the command.
        var writer = services.GetRequiredService<SettlementWriter>();
        if (repair)
        {
            await writer.StartAsync(cancellationToken);
        }

        try
        {
            await report.Output.WriteAsync(string.Format(CultureInfo.InvariantCulture, Row, "TENANT", "STATUS", "LEDGER", "REDIS", "PENDING", "DIFFERENCE", "CALL CHARGES", "CALL DEBITS", "EPOCH LEDGER/REDIS"));
            var summary = new ReconciliationSummary();
            string? stoppedAfter = null;
            if (tenantId is not null)
            {
                var outcome = await reconciler.RunOneAsync(tenantId, repair, cancellationToken);
                if (outcome is null)
                {
                    return await FailAsync(report.Errors, $"reconcile: there is no tenant '{tenantId}'");
                }

                summary.Add(outcome);
                await report.Output.WriteAsync(Describe(outcome));
            }
            else
            {
                summary = await reconciler.RunAsync(null, repair, (outcome, _) => report.Output.WriteAsync(Describe(outcome)), cancellationToken);
                stoppedAfter = summary.LastTenantId;
            }

            if (stoppedAfter is not null)
            {
                await report.Output.WriteLineAsync($"reconcile: stopped after tenant '{stoppedAfter}', at Reconciliation:TenantsPerRun; the tenants after it were not checked");
            }

            await report.Output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"reconcile: tenants={summary.Tenants} drift={summary.Drifted} repaired={summary.Repaired}{(summary.Drifted > 0 ? " (exit 1: drift was found" + (summary.Repaired > 0 ? ", even where it was repaired)" : ")") : string.Empty)}"));
            return summary.Drifted > 0 ? ExitDrift : ExitConsistent;
        }
        finally
        {
            if (repair)
            {
                // Drains what the writer holds before the command ends.
                await writer.StopAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>The outcome's table row, then the drift and the repair in words.</summary>
    public static string Describe(TenantOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var text = new StringBuilder();
        AppendRow(text, outcome.Found, outcome.Found.TenantId);
        if (outcome.Found.Drift != DriftKinds.None)
        {
            text.Append("  drift: ").Append(outcome.Found.Describe()).Append('\n');
        }

        if (outcome.Repair is { } repair)
        {
            text.Append("  repair: ").Append(repair.Message).Append('\n');
            if (outcome.After is { } after)
            {
                AppendRow(text, after, "  after repair");
                if (after.Drift != DriftKinds.None)
                {
                    text.Append("  still: ").Append(after.Describe()).Append(after.Drift.HasFlag(DriftKinds.CallRecords) ? " (call records cannot be repaired from Redis)" : string.Empty).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    private static void AppendRow(StringBuilder text, TenantReconciliation found, string label)
    {
        var status = found.Drift != DriftKinds.None
            ? "DRIFT " + found.Drift.ToString().Replace(" ", string.Empty, StringComparison.Ordinal)
            : found.Loaded ? "ok" : "ok (Redis not loaded)";
        var redis = found.Redis;
        text.AppendFormat(
            CultureInfo.InvariantCulture,
            Row,
            label,
            status,
            found.LedgerBalanceMicros,
            redis is null ? "-" : redis.BalanceMicros?.ToString(CultureInfo.InvariantCulture) ?? "?",
            redis is null ? "-" : found.PendingNotInLedgerMicros.ToString(CultureInfo.InvariantCulture),
            redis is null ? "-" : found.BalanceDifferenceMicros?.ToString(CultureInfo.InvariantCulture) ?? "?",
            found.CallChargesMicros,
            found.CallDebitsMicros,
            string.Create(CultureInfo.InvariantCulture, $"{found.LedgerEpoch}/{(redis is null ? "-" : redis.Epoch.ToString(CultureInfo.InvariantCulture))}"));
    }

    private static async Task<int> FailAsync(TextWriter errors, string message)
    {
        await errors.WriteLineAsync(message);
        return ExitFailure;
    }

    private sealed record Report(TextWriter Output, TextWriter Errors);
}
