namespace CommsCredits.MicroBench;

using System.Globalization;
using System.Text;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;
using Google.Protobuf.WellKnownTypes;
using static CommsCredits.Gateway.Charging.AnswerBuilder;
using static CommsCredits.Tests.Infrastructure.ScriptText;

/// <summary>
/// Inputs shaped like production traffic: a carrier-sized rate table, the messages of one call, and the encoded
/// answers and settlements the Lua scripts return for it (common.lua, settlement and encode).
/// </summary>
public static class SampleData
{
    public const string TenantId = "acme-telecom";
    public const string UserId = "user-0001234";
    public const string SessionId = "pcscf1.example.net;1733212800;4711";
    public const string CallingNumber = "+442079460123";

    /// <summary>The rate table's size: a large carrier's wholesale table has tens of thousands of prefixes.</summary>
    public const int PrefixCount = 50_000;

    public static readonly DateTimeOffset RatesFrom = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Now = new(2026, 12, 3, 9, 30, 0, TimeSpan.Zero);

    /// <summary>
    /// PrefixCount prefixes of 3 to 8 digits under 220 country codes, one in ten with a second, later version (a
    /// price change), deterministic so that every run rates the same numbers.
    /// </summary>
    public static IReadOnlyList<RateVersion> RateTable(out string[] ratedNumbers)
    {
        var random = new Random(20261203);
        var countryCodes = Enumerable.Range(0, 220).Select(index => (1 + random.Next(999)).ToString(CultureInfo.InvariantCulture)).Distinct(StringComparer.Ordinal).ToArray();
        var prefixes = new HashSet<string>(StringComparer.Ordinal);
        while (prefixes.Count < PrefixCount)
        {
            var prefix = new StringBuilder(countryCodes[random.Next(countryCodes.Length)]);
            var length = 3 + random.Next(6);
            while (prefix.Length < length)
            {
                prefix.Append((char)('0' + random.Next(10)));
            }

            prefixes.Add(prefix.ToString());
        }

        var versions = new List<RateVersion>(PrefixCount + (PrefixCount / 10));
        var index = 0;
        foreach (var prefix in prefixes)
        {
            var name = "Destination " + prefix[..Math.Min(3, prefix.Length)] + " - Mobile";
            var rate = 1_000 + random.Next(2_000_000);
            versions.Add(new RateVersion(CallType.OutboundPstn, new Tariff(name, prefix, rate, 0, 60, 1, RatesFrom)));
            if (index++ % 10 == 0)
            {
                versions.Add(new RateVersion(CallType.OutboundPstn, new Tariff(name, prefix, rate + 500, 10_000, 30, 6, RatesFrom.AddMonths(6))));
            }
        }

        // Called numbers: a prefix of the table extended to 12 digits, so each lookup walks the trie as deep as a real one.
        var table = prefixes.ToArray();
        ratedNumbers = new string[1024];
        for (var number = 0; number < ratedNumbers.Length; number++)
        {
            var digits = new StringBuilder(table[random.Next(table.Length)]);
            while (digits.Length < 12)
            {
                digits.Append((char)('0' + random.Next(10)));
            }

            ratedNumbers[number] = "+" + digits;
        }

        return versions;
    }

    public static ReserveRequest Reserve(string calledNumber) => new()
    {
        SessionId = SessionId,
        RequestNumber = 0,
        TenantId = TenantId,
        UserId = UserId,
        CallType = CallType.OutboundPstn,
        CallingNumber = CallingNumber,
        CalledNumber = calledNumber,
        RequestedSeconds = 300,
    };

    public static ReserveResponse ReserveAnswer() => new()
    {
        ResultCode = ResultCode.Success,
        ResultMessage = string.Empty,
        GrantedSeconds = 300,
        ValiditySeconds = 300,
        FinalUnitAction = FinalUnitAction.None,
        Reserved = new Money { AmountMicros = 6_000_000, Currency = "EUR" },
        Rate = new RateSummary
        {
            DestinationName = "United Kingdom - Mobile",
            Prefix = "447",
            RatePerMinute = new Money { AmountMicros = 1_200_000, Currency = "EUR" },
            ConnectionFee = new Money { AmountMicros = 0, Currency = "EUR" },
            FirstIncrementSeconds = 60,
            NextIncrementSeconds = 1,
            EffectiveFrom = Timestamp.FromDateTimeOffset(RatesFrom),
        },
        GrantedIncludedSeconds = 0,
    };

    /// <summary>The largest message a client normally sends: a rate import of <paramref name="rows"/> rows.</summary>
    public static ImportRatesRequest ImportRates(int rows)
    {
        var request = new ImportRatesRequest { TenantId = TenantId };
        var from = Timestamp.FromDateTimeOffset(RatesFrom);
        for (var row = 0; row < rows; row++)
        {
            request.Rows.Add(new RateRow
            {
                CallType = CallType.OutboundPstn,
                Prefix = (440_000 + row).ToString(CultureInfo.InvariantCulture),
                DestinationName = "United Kingdom - Mobile",
                RatePerMinuteMicros = 1_200_000 + row,
                ConnectionFeeMicros = 0,
                FirstIncrementSeconds = 60,
                NextIncrementSeconds = 1,
                EffectiveFrom = from,
            });
        }

        return request;
    }

    /// <summary>A stored answer as reserve.lua and usage.lua write it: 13 netstring fields.</summary>
    public static string EncodedAnswer() =>
        Encode("2001", "300", "300", "0", "0", "0", "6000000", "0", "0", "41", "9c2f6a1be07d4c35", "0", "0");

    /// <summary>The settlement of a Reserve: no ledger entry, an opening session step (18 + 12 fields).</summary>
    public static string EncodedOpeningSettlement()
    {
        var opening = Encode("1", UserId, CallingNumber, "+447700900123", "United Kingdom - Mobile", "447", "1200000", "0", "60", "1", "1735689600000");
        string[] common = ["7", "41", Milliseconds(Now), "0", "0", SessionId, "0", "18", "", "", "", "", "", "", "", "", "", "0"];
        string[] step = ["1", "7", "0", "0", "0", "0", "0", "6000000", "300", Milliseconds(Now.AddSeconds(330)), EncodedAnswer(), opening];
        return Encode([.. common, .. step]);
    }

    /// <summary>The settlement of a Terminate: a debit drawn from two lots, the call record and the closing step (18 + 20 + 12 fields).</summary>
    public static string EncodedClosingSettlement()
    {
        string[] common =
        [
            "7", "43", Milliseconds(Now), "2", "-1060000", SessionId, "2", "18", "", "", "", "", "7.12:600000;7.15:460000", "", "", "",
            "low_balance=5000000/4940000", "1",
        ];
        string[] call =
        [
            UserId, "1", CallingNumber, "+447700900123", Milliseconds(Now.AddSeconds(-173)), Milliseconds(Now), "173", "173", "3460000", "0",
            "United Kingdom - Mobile", "447", "1200000", "0", "60", "1", "1735689600000", "1", "0", "",
        ];
        string[] step = ["3", "7", "2", "53", "1060000", "0", "0", "0", "0", Milliseconds(Now), EncodedAnswer(), ""];
        return Encode([.. common, .. call, .. step]);
    }

}
