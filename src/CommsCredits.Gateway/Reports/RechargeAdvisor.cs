namespace CommsCredits.Gateway.Reports;

using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Accounts;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Funding;
using CommsCredits.Gateway.Tenants;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Npgsql;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>
/// AdviseRecharge: from the tenant's debits over the last history_days (hour by hour, on the gateway's clock), the
/// trigger (the nearest-rank percentile of the spend of the lead_time_hours-long windows that hold any) and the recharge (the
/// median daily spend times cover_days, at least Funding:MinimumOneOffMicros, at most Accounts:MaxFundingMicros).
/// Both are rounded up to a whole unit of the currency. Integer arithmetic throughout. Changes nothing.
/// </summary>
public sealed class RechargeAdvisor(
    TenantCatalog catalog,
    NpgsqlDataSource dataSource,
    AutoRechargeSettings autoRecharge,
    TimeProvider timeProvider,
    IOptions<FundingOptions> funding,
    IOptions<AccountsOptions> accounts)
{
    public const uint DefaultHistoryDays = 30;
    public const uint DefaultLeadTimeHours = 24;
    public const uint DefaultCoverDays = 30;
    public const uint DefaultPercentile = 95;
    public const long MicrosPerUnit = 1_000_000;

    private const int HoursPerDay = 24;

    public async Task<RechargeAdvice> AdviseAsync(AdviseRechargeRequest request, CancellationToken cancellationToken)
    {
        RequestValidator.TenantId(request.TenantId);
        var historyDays = InRange(request.HistoryDays, DefaultHistoryDays, 1, 365, "history_days");
        var leadTimeHours = InRange(request.LeadTimeHours, DefaultLeadTimeHours, 1, 720, "lead_time_hours");
        var coverDays = InRange(request.CoverDays, DefaultCoverDays, 1, 365, "cover_days");
        var percentile = InRange(request.Percentile, DefaultPercentile, 50, 100, "percentile");
        var profile = await catalog.GetAsync(request.TenantId, cancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"tenant '{request.TenantId}' does not exist"));
        var currency = profile.Tenant.Currency;
        var before = timeProvider.GetUtcNow();
        var from = before.AddDays(-historyDays);
        var hourly = await HourlySpendAsync(request.TenantId, from, before, (int)historyDays * HoursPerDay, cancellationToken);
        var figures = Compute(hourly, (int)leadTimeHours, (int)coverDays, (int)percentile, funding.Value.MinimumOneOffMicros, accounts.Value.MaxFundingMicros);
        var advice = new RechargeAdvice
        {
            TenantId = request.TenantId,
            Trigger = Money(figures.TriggerMicros, currency),
            Recharge = Money(figures.RechargeMicros, currency),
            HistoryDays = historyDays,
            LeadTimeHours = leadTimeHours,
            CoverDays = coverDays,
            Percentile = percentile,
            HistoryFrom = Timestamp.FromDateTimeOffset(from),
            HistoryBefore = Timestamp.FromDateTimeOffset(before),
            TotalSpend = Money(figures.TotalMicros, currency),
            DaysWithSpend = (uint)figures.DaysWithSpend,
            TypicalDailySpend = Money(figures.TypicalDailyMicros, currency),
            PeakDailySpend = Money(figures.PeakDailyMicros, currency),
            LeadTimeSpend = Money(figures.LeadTimeMicros, currency),
            Current = await autoRecharge.GetAsync(profile, cancellationToken),
        };
        advice.Notes.AddRange(figures.Notes);
        return advice;
    }

    /// <summary>The advice's figures from the spend of each hour of the history (oldest first), as documented above.</summary>
    public static AdviceFigures Compute(long[] hourlyMicros, int leadTimeHours, int coverDays, int percentile, long minimumMicros, long maxMicros)
    {
        var notes = new List<string>();
        var hours = hourlyMicros.Length;
        var prefix = new long[hours + 1];
        for (var hour = 0; hour < hours; hour++)
        {
            prefix[hour + 1] = prefix[hour] + hourlyMicros[hour];
        }

        var days = hours / HoursPerDay;
        var daily = new long[days];
        var daysWithSpend = 0;
        for (var day = 0; day < days; day++)
        {
            daily[day] = prefix[(day + 1) * HoursPerDay] - prefix[day * HoursPerDay];
            daysWithSpend += daily[day] > 0 ? 1 : 0;
        }

        var window = leadTimeHours;
        if (window > hours)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"The lead time ({leadTimeHours} h) is longer than the history ({hours} h): the trigger covers the whole history's spend."));
            window = hours;
        }

        var leadTimeMicros = LeadTimeSpend(prefix, window, percentile, notes);
        var typicalMicros = NearestRank(daily, 50);
        var peakMicros = days == 0 ? 0 : daily.Max();
        var trigger = RoundUpToUnit(leadTimeMicros, maxMicros);
        if (trigger != leadTimeMicros)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"The trigger was rounded up from {leadTimeMicros} micro-units to a whole unit of the currency."));
        }

        var wanted = typicalMicros > long.MaxValue / coverDays ? long.MaxValue : typicalMicros * coverDays;
        var recharge = wanted;
        if (recharge < minimumMicros)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"The recharge ({wanted} micro-units for {coverDays} days of typical spend) was raised to the minimum one-off funding (Funding:MinimumOneOffMicros {minimumMicros})."));
            recharge = minimumMicros;
        }

        var rounded = RoundUpToUnit(recharge, maxMicros);
        if (recharge > maxMicros)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"The recharge ({recharge} micro-units) was lowered to the largest funding (Accounts:MaxFundingMicros {maxMicros})."));
        }
        else if (rounded != recharge)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"The recharge was rounded up from {recharge} micro-units to a whole unit of the currency."));
        }

        if (prefix[hours] == 0)
        {
            notes.Add("The history has no spend: the advice is the smallest possible.");
        }

        return new AdviceFigures(trigger, rounded, prefix[hours], daysWithSpend, typicalMicros, peakMicros, leadTimeMicros, notes);
    }

    /// <summary>
    /// The percentile of the spend of the lead-time windows that hold any spend. Windows without spend are left out:
    /// the trigger is what the balance must still hold when a recharge starts, and that matters only while the tenant
    /// spends. Counted over every window, a tenant who calls on a few days of the history would be advised a trigger of
    /// 0 (at the 95th percentile, on fewer than 2 days in 30), which recharges only once calls are already refused.
    /// </summary>
    private static long LeadTimeSpend(long[] prefix, int window, int percentile, List<string> notes)
    {
        var windows = prefix.Length - window;
        var spending = new List<long>(windows);
        var all = new long[windows];
        for (var start = 0; start < windows; start++)
        {
            all[start] = prefix[start + window] - prefix[start];
            if (all[start] > 0)
            {
                spending.Add(all[start]);
            }
        }

        var leadTimeMicros = NearestRank([.. spending], percentile);
        var overAllMicros = NearestRank(all, percentile);
        if (leadTimeMicros != overAllMicros)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"The lead-time spend is the percentile of the {spending.Count} of {windows} windows that hold any spend; over every window it would be {overAllMicros} micro-units."));
        }

        return leadTimeMicros;
    }

    /// <summary>The nearest-rank percentile: the value of rank ceil(p/100 · n) in ascending order; 0 of nothing.</summary>
    public static long NearestRank(long[] values, int percentile)
    {
        if (values.Length == 0)
        {
            return 0;
        }

        var sorted = (long[])values.Clone();
        Array.Sort(sorted);
        var rank = (int)(((long)percentile * sorted.Length + 99) / 100);
        return sorted[Math.Max(rank, 1) - 1];
    }

    private static long RoundUpToUnit(long micros, long maxMicros)
    {
        var rounded = micros > long.MaxValue - MicrosPerUnit ? long.MaxValue : (micros + MicrosPerUnit - 1) / MicrosPerUnit * MicrosPerUnit;
        return Math.Min(rounded, maxMicros);
    }

    private static uint InRange(uint value, uint defaultValue, uint min, uint max, string field)
    {
        if (value == 0)
        {
            return defaultValue;
        }

        return value >= min && value <= max ? value : throw RequestValidator.Invalid($"{field} must be between {min} and {max} (0 for {defaultValue}), got {value}");
    }

    private async Task<long[]> HourlySpendAsync(string tenantId, DateTimeOffset from, DateTimeOffset before, int hours, CancellationToken cancellationToken)
    {
        var hourly = new long[hours];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // At most one row per hour of the history (365 × 24).
        await using var command = new NpgsqlCommand(
            """
            SELECT floor(extract(epoch FROM occurred_at - @from) / 3600)::int AS hour, (-sum(amount_micros))::bigint
            FROM ledger_entries
            WHERE tenant_id = @tenant AND kind = 2 AND occurred_at >= @from AND occurred_at < @before
            GROUP BY 1
            """,
            connection);
        command.Parameters.AddWithValue("tenant", tenantId);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("before", before);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var hour = reader.GetInt32(0);
            if (hour >= 0 && hour < hours)
            {
                hourly[hour] += reader.GetInt64(1);
            }
        }

        return hourly;
    }
}

/// <summary>What <see cref="RechargeAdvisor.Compute"/> works out, in micro-units.</summary>
public sealed record AdviceFigures(
    long TriggerMicros,
    long RechargeMicros,
    long TotalMicros,
    int DaysWithSpend,
    long TypicalDailyMicros,
    long PeakDailyMicros,
    long LeadTimeMicros,
    IReadOnlyList<string> Notes);
