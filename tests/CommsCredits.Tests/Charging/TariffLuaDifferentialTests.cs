namespace CommsCredits.Tests.Charging;

using System.Globalization;
using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
using CommsCredits.Tests.Infrastructure;
using Shouldly;
using StackExchange.Redis;
using Xunit;

/// <summary>
/// The charging arithmetic exists twice: TariffMath in C# (price enquiries, rate checks) and tariff.lua inside Redis
/// (every debit and grant). This runs both on the same inputs in a real Redis and requires identical results.
/// </summary>
public sealed class TariffLuaDifferentialTests
{
    private const int CaseCount = 30_000;
    private const int CasesPerScript = 500;

    private const string Harness =
        """
        local out = {}
        for i = 0, #ARGV / 7 - 1 do
          local b = i * 7
          local used, first, next_increment = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
          local rate, fee = tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
          local debited, money = tonumber(ARGV[b + 6]), tonumber(ARGV[b + 7])
          local billed = billed_seconds(used, first, next_increment)
          out[#out + 1] = billed
          out[#out + 1] = cost_micros(billed, rate, fee)
          out[#out + 1] = affordable_total_seconds(debited, money, rate, fee, first, next_increment, 604800)
        end
        return out
        """;

    [Fact]
    public async Task Lua_and_CSharp_agree_on_billed_seconds_cost_and_affordable_time()
    {
        // Proves "rounding is defined once" in effect: 30,000 random and edge cases, three functions each, give the
        // same integers in Redis Lua (doubles) as in C# (longs).
        var servers = await TestServers.SharedAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(servers.RedisConfiguration);
        var database = redis.GetDatabase();
        var script = ReadTariffLua() + "\n" + Harness;
        var random = new Random(20261122);
        var mismatches = new List<string>();

        for (var batch = 0; batch < CaseCount / CasesPerScript; batch++)
        {
            var cases = Enumerable.Range(0, CasesPerScript).Select(_ => NextCase(random)).ToArray();
            var arguments = cases.SelectMany(c => new long[] { c.Used, c.First, c.Next, c.Rate, c.Fee, c.Debited, c.Money })
                .Select(value => (RedisValue)value.ToString(CultureInfo.InvariantCulture)).ToArray();
            var results = (RedisResult[])(await database.ScriptEvaluateAsync(script, [], arguments))!;
            for (var index = 0; index < cases.Length; index++)
            {
                var c = cases[index];
                var billed = TariffMath.BilledSeconds(c.Used, c.First, c.Next);
                var cost = TariffMath.CostMicros(billed, c.Rate, c.Fee);
                var affordable = TariffMath.AffordableTotalSeconds(c.Debited, c.Money, c.Rate, c.Fee, c.First, c.Next, MoneyLimits.MaxSessionSeconds);
                long[] lua = [(long)results[index * 3], (long)results[(index * 3) + 1], (long)results[(index * 3) + 2]];
                if (lua[0] != billed || lua[1] != cost || lua[2] != affordable)
                {
                    mismatches.Add($"{c}: C# ({billed}, {cost}, {affordable}) Lua ({lua[0]}, {lua[1]}, {lua[2]})");
                }
            }
        }

        mismatches.ShouldBeEmpty();
    }

    private static Case NextCase(Random random)
    {
        long Pick(long[] edges, long max) => random.Next(3) == 0 ? edges[random.Next(edges.Length)] : random.NextInt64(0, max + 1);
        var first = Math.Max(1, Pick([1, 6, 30, 60, 3_600], MoneyLimits.MaxIncrementSeconds));
        var next = Math.Max(1, Pick([1, 6, 60, 3_600], MoneyLimits.MaxIncrementSeconds));
        var used = Pick([0, 1, 59, 60, 61, 86_400, MoneyLimits.MaxSessionSeconds], random.Next(2) == 0 ? 7_200 : MoneyLimits.MaxSessionSeconds);
        var rate = Pick([0, 1, 59, 60, 61, 60_000, MoneyLimits.MaxRatePerMinuteMicros], MoneyLimits.MaxRatePerMinuteMicros);
        var fee = Pick([0, 1, 10_000, MoneyLimits.MaxConnectionFeeMicros], MoneyLimits.MaxConnectionFeeMicros);
        var debited = Pick([0, 1, 60_000], random.Next(2) == 0 ? 10_000_000 : MoneyLimits.MaxBalanceMicros);
        var money = Pick([0, 1, 59_999, 60_000, MoneyLimits.MaxBalanceMicros], random.Next(2) == 0 ? 10_000_000 : MoneyLimits.MaxBalanceMicros);
        return new Case(used, first, next, rate, fee, debited, money);
    }

    private static string ReadTariffLua()
    {
        var assembly = typeof(TariffMath).Assembly;
        using var stream = assembly.GetManifestResourceStream("CommsCredits.Gateway.Balances.Scripts.tariff.lua")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private sealed record Case(long Used, long First, long Next, long Rate, long Fee, long Debited, long Money);
}
