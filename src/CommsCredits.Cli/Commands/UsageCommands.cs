namespace CommsCredits.Cli.Commands;

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using CommsCredits.Cli.Export;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf.WellKnownTypes;

/// <summary>usage export: Reports/ExportUsage to an RFC 4180 CSV file, resumed after a dropped stream.</summary>
public static class UsageCommands
{
    /// <summary>How often a dropped stream is resumed (after the last usage id written) before the export gives up.</summary>
    public const int MaxResumes = 3;

    public const int DefaultExportTimeoutSeconds = 3_600;

    public static IReadOnlyList<string> Header { get; } =
    [
        "UsageId", "Call ID", "Conference ID", "User Location", "AAD ObjectId", "UPN", "User Display Name", "Caller ID", "Call Type", "Number Type",
        "Domestic/International", "Destination Dialed", "Destination Number", "Start Time", "End Time", "Duration Seconds", "Connection Fee", "Charge",
        "Currency", "Capability", "Included Seconds", "Pool ID", "Billed Seconds", "Uncharged", "Rated Prefix", "Rate Per Minute", "Termination Cause",
    ];

    public static void AddTo(RootCommand root, CommandRunner runner)
    {
        var tenant = Text.Tenant();
        var from = Text.Required("--from", "From this date (midnight UTC) or time, included.");
        var to = Text.Required("--to", "To this date, included (its whole UTC day), or before this time.");
        var output = Text.Required("--out", "The CSV file; written as FILE.partial, renamed when complete.");
        var timeout = new Option<int>("--export-timeout-seconds") { Description = "The deadline of each export stream.", DefaultValueFactory = _ => DefaultExportTimeoutSeconds };
        var export = new Command("export", "Exports the tenant's usage records as CSV.") { tenant, from, to, output, timeout };
        runner.SetAction(export, (parsed, session, cancellationToken) =>
        {
            var toText = parsed.GetValue(to)!;
            var fromInstant = Text.ParseInstant(parsed.GetValue(from)!, "--from");
            var before = Text.ParseInstant(toText, "--to");
            if (Text.IsDateOnly(toText))
            {
                before = before.AddDays(1);
            }

            if (before <= fromInstant)
            {
                throw new UsageException("--to must be after --from");
            }

            var timeoutSeconds = parsed.GetValue(timeout);
            if (timeoutSeconds is < 1 or > GlobalOptions.MaxTimeoutSeconds)
            {
                throw new UsageException($"--export-timeout-seconds must be 1 to {GlobalOptions.MaxTimeoutSeconds}");
            }

            var request = new ExportUsageRequest { TenantId = parsed.GetValue(tenant)!, From = Timestamp.FromDateTimeOffset(fromInstant), Before = Timestamp.FromDateTimeOffset(before) };
            return ExportAsync(session, request, parsed.GetValue(output)!, TimeSpan.FromSeconds(timeoutSeconds), cancellationToken);
        });
        root.Subcommands.Add(new Command("usage", "Usage records.") { export });
    }

    /// <summary>One record's CSV fields, in <see cref="Header"/>'s order.</summary>
    public static string[] Fields(UsageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return
        [
            record.UsageId, record.CallId, record.ConferenceId, record.UserLocation, record.AadObjectId, record.Upn, record.UserDisplayName, record.CallerId,
            record.CallType, record.NumberType, record.DomesticInternational, record.DestinationDialed, record.DestinationNumber, Text.Time(record.StartTime),
            Text.Time(record.EndTime), record.DurationSeconds.ToString(CultureInfo.InvariantCulture), Text.Bare(record.ConnectionFee), Text.Bare(record.Charge),
            record.Charge?.Currency ?? string.Empty, record.Capability, record.IncludedSeconds.ToString(CultureInfo.InvariantCulture), record.PoolId,
            record.BilledSeconds.ToString(CultureInfo.InvariantCulture), Text.Bare(record.Uncharged), record.RatedPrefix, Text.Bare(record.RatePerMinute),
            record.TerminationCause,
        ];
    }

    private static async Task ExportAsync(CliSession session, ExportUsageRequest request, string path, TimeSpan streamTimeout, CancellationToken cancellationToken)
    {
        var partial = path + ".partial";
        var clock = Stopwatch.StartNew();
        long rows = 0;
        await using (var file = new StreamWriter(partial, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
        {
            var csv = new CsvWriter(file);
            await csv.WriteRecordAsync(Header, cancellationToken).ConfigureAwait(false);
            for (var resumes = 0; ; resumes++)
            {
                try
                {
                    using var call = session.Reports.ExportUsage(request, CliSession.Stream(streamTimeout, cancellationToken));
                    await foreach (var record in call.WithCancellation(cancellationToken).ConfigureAwait(false))
                    {
                        await csv.WriteRecordAsync(Fields(record), cancellationToken).ConfigureAwait(false);
                        request.After = record.UsageId;
                        rows++;
                    }

                    break;
                }
                catch (RpcException exception) when (exception.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown && resumes < MaxResumes)
                {
                    await session.Output.WriteLineAsync($"stream dropped after {rows.ToString(CultureInfo.InvariantCulture)} rows ({CliApplication.StatusName(exception.StatusCode)}); resuming after '{request.After}'").ConfigureAwait(false);
                }
            }
        }

        File.Move(partial, path, overwrite: true);
        var seconds = Math.Max(clock.Elapsed.TotalSeconds, 0.001);
        await session.Output.WriteLineAsync($"{rows.ToString(CultureInfo.InvariantCulture)} rows to {path} in {seconds.ToString("F1", CultureInfo.InvariantCulture)} s ({(rows / seconds).ToString("F0", CultureInfo.InvariantCulture)} rows/s)").ConfigureAwait(false);
    }
}
