namespace CommsCredits.Gateway.Hosting;

using System.Globalization;
using System.Text;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

/// <summary>
/// partitions list | partitions detach --before YYYY-MM: the monthly partitions of ledger_entries and call_records
/// (docs/scaling.md, "Partitioned tables"). detach takes every attached month before the given one out of the ledger
/// into tables of its own, for the operator to dump and drop, and carries what they held into ledger_checkpoints.
/// Exit codes: 0 done (also when there was nothing to detach), 2 a usage error, a refused detach or storage that
/// cannot be reached.
/// </summary>
public static class PartitionsCommand
{
    public const int ExitDone = 0;
    public const int ExitFailure = 2;

    private const string UsageText = "usage: partitions list | partitions detach --before YYYY-MM [--Section:Key=value ...]";

    private static readonly CompositeFormat Row = CompositeFormat.Parse("{0,-8}  {1,-9}  {2,-24}  {3,-24}  {4,12}  {5,20}  {6,12}  {7}\n");

    /// <summary>Runs the command with the arguments after its name; the report goes to <paramref name="output"/>, errors to <paramref name="errors"/>.</summary>
    public static async Task<int> RunAsync(string[] arguments, TextWriter output, TextWriter errors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(errors);
        CommandArguments parsed;
        try
        {
            parsed = CommandArguments.Parse(arguments, "before");
        }
        catch (CommandUsageException exception)
        {
            return await FailAsync(errors, "partitions: " + exception.Message + "\n" + UsageText);
        }

        var action = parsed.Positional.Count == 1 ? parsed.Positional[0] : null;
        var before = parsed.Option("before");
        if (action is not ("list" or "detach") || string.Equals(action, "list", StringComparison.Ordinal) != (before is null))
        {
            return await FailAsync(errors, "partitions: say list, or detach with --before YYYY-MM\n" + UsageText);
        }

        DateOnly? beforeMonth = null;
        try
        {
            beforeMonth = before is null ? null : LedgerPartitions.ParseMonth(before);
        }
        catch (PartitionRefusedException exception)
        {
            return await FailAsync(errors, "partitions: --before " + exception.Message);
        }

        using var host = GatewayCommands.BuildCommandHost(parsed.Settings);
        try
        {
            await GatewayApplication.MigrateAsync(host.Services, cancellationToken);
            var partitions = host.Services.GetRequiredService<LedgerPartitions>();
            return beforeMonth is { } month
                ? await DetachAsync(partitions, month, output, cancellationToken)
                : await ListAsync(partitions, output, cancellationToken);
        }
        catch (PartitionRefusedException exception)
        {
            return await FailAsync(errors, "partitions: refused, nothing was detached: " + exception.Message);
        }
        catch (StorageUnavailableException exception)
        {
            return await FailAsync(errors, "partitions: Redis failed (a detach checks its pending settlements before it seals anything: nothing was detached): " + exception.Message);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            return await FailAsync(errors, "partitions: PostgreSQL failed, nothing was detached (a detach that sealed months takes the seals off again; partitions list shows any left): " + exception.Message);
        }
    }

    private static async Task<int> ListAsync(LedgerPartitions partitions, TextWriter output, CancellationToken cancellationToken)
    {
        var months = await partitions.ListAsync(cancellationToken);
        await output.WriteAsync(Header());
        foreach (var month in months)
        {
            await output.WriteAsync(Line(month));
        }

        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture, $"partitions: {months.Count(month => !month.Detached)} months attached, {months.Count(month => month.Detached)} detached"));
        return ExitDone;
    }

    private static async Task<int> DetachAsync(LedgerPartitions partitions, DateOnly before, TextWriter output, CancellationToken cancellationToken)
    {
        var detached = await partitions.DetachBeforeAsync(before, cancellationToken);
        if (detached.Count == 0)
        {
            await output.WriteLineAsync($"partitions: no attached month before {LedgerPartitions.Format(before)}; nothing was detached");
            return ExitDone;
        }

        await output.WriteAsync(Header());
        foreach (var month in detached)
        {
            await output.WriteAsync(Line(month));
        }

        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"partitions: detached {detached.Count} months before {LedgerPartitions.Format(before)}; their balances are in ledger_checkpoints. The tables stay in the database: archive them (pg_dump --table=...) and DROP them when archived (docs/scaling.md)"));
        return ExitDone;
    }

    private static string Header() => string.Format(CultureInfo.InvariantCulture, Row, "MONTH", "STATE", "LEDGER TABLE", "CALL TABLE", "ENTRIES", "AMOUNT MICROS", "CALLS", "DETACHED AT");

    private static string Line(PartitionMonth month) => string.Format(
        CultureInfo.InvariantCulture,
        Row,
        LedgerPartitions.Format(month.Month),
        month.Detached ? "detached" : month.Sealed ? "sealed" : "attached",
        month.LedgerTable,
        month.CallTable,
        Optional(month.EntryCount),
        Optional(month.AmountMicros),
        Optional(month.CallRecordCount),
        month.DetachedAt is { } at ? at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "-");

    private static string Optional(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static async Task<int> FailAsync(TextWriter errors, string message)
    {
        await errors.WriteLineAsync(message);
        return ExitFailure;
    }
}
