namespace CommsCredits.Gateway.Reports;

using CommsCredits.Gateway.Charging;
using Google.Protobuf.WellKnownTypes;

/// <summary>A report's period [From, Before), checked as reports.proto says.</summary>
public sealed record ReportPeriod(DateTimeOffset From, DateTimeOffset Before)
{
    public static ReportPeriod Parse(Timestamp? from, Timestamp? before, int maxPeriodDays)
    {
        var start = Required(from, "from");
        var end = Required(before, "before");
        if (end <= start)
        {
            throw RequestValidator.Invalid("before must be after from");
        }

        if (end - start > TimeSpan.FromDays(maxPeriodDays))
        {
            throw RequestValidator.Invalid($"before must be at most {maxPeriodDays} days after from (Reports:MaxPeriodDays)");
        }

        return new ReportPeriod(start, end);
    }

    private static DateTimeOffset Required(Timestamp? timestamp, string field)
    {
        if (timestamp is null)
        {
            throw RequestValidator.Invalid($"{field} is required");
        }

        // Timestamp's own range, and what PostgreSQL's timestamptz holds comfortably: 0001-01-01 to 9999-12-31.
        if (timestamp.Seconds < -62_135_596_800 || timestamp.Seconds > 253_402_300_799 || timestamp.Nanos is < 0 or > 999_999_999)
        {
            throw RequestValidator.Invalid($"{field} is not a valid timestamp");
        }

        return timestamp.ToDateTimeOffset();
    }
}
