using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;
using Google.Protobuf.WellKnownTypes;
using Shouldly;
using Xunit;

namespace CommsCredits.Tests.Rating;

public sealed class RateRowValidatorTests
{
    private static readonly RateVersionCandidate ValidRow = new(
        CallType.OutboundPstn, "44", "United Kingdom", 1_200_000, 150_000, 60, 1, RatingTestData.Epoch);

    public static TheoryData<string, RateVersionCandidate> BadRows => new()
    {
        { "call_type", ValidRow with { CallType = CallType.Unspecified } },
        { "call_type", ValidRow with { CallType = (CallType)99 } },
        { "prefix", ValidRow with { Prefix = null } },
        { "prefix", ValidRow with { Prefix = "" } },
        { "prefix", ValidRow with { Prefix = "+44" } },
        { "prefix", ValidRow with { Prefix = "4a" } },
        { "prefix", ValidRow with { Prefix = "44 7" } },
        { "prefix", ValidRow with { Prefix = "044" } },
        { "prefix", ValidRow with { Prefix = "1234567890123456" } },
        { "destination_name", ValidRow with { DestinationName = null } },
        { "destination_name", ValidRow with { DestinationName = "" } },
        { "destination_name", ValidRow with { DestinationName = "   " } },
        { "destination_name", ValidRow with { DestinationName = new string('x', 201) } },
        { "destination_name", ValidRow with { DestinationName = "United\nKingdom" } },
        { "destination_name", ValidRow with { DestinationName = "Broken \uD800 surrogate" } },
        { "rate_per_minute_micros", ValidRow with { RatePerMinuteMicros = -1 } },
        { "rate_per_minute_micros", ValidRow with { RatePerMinuteMicros = 1_000_000_001 } },
        { "connection_fee_micros", ValidRow with { ConnectionFeeMicros = -1 } },
        { "connection_fee_micros", ValidRow with { ConnectionFeeMicros = 1_000_000_001 } },
        { "first_increment_seconds", ValidRow with { FirstIncrementSeconds = 0 } },
        { "first_increment_seconds", ValidRow with { FirstIncrementSeconds = 3_601 } },
        { "next_increment_seconds", ValidRow with { NextIncrementSeconds = 0 } },
        { "next_increment_seconds", ValidRow with { NextIncrementSeconds = 3_601 } },
        { "effective_from", ValidRow with { EffectiveFrom = null } },
        { "effective_from", ValidRow with { EffectiveFrom = new DateTimeOffset(2026, 1, 1, 1, 0, 0, TimeSpan.FromHours(1)) } },
    };

    [Theory]
    [MemberData(nameof(BadRows))]
    public void Each_bad_field_is_reported_with_its_row_number_and_field_name(string field, RateVersionCandidate badRow)
    {
        // Proves every rule names the API field it broke and the 1-based row it is in, and that Tariff refuses the same values.
        var rows = new[] { ValidRow, ValidRow with { Prefix = "33" }, badRow };
        var error = RateRowValidator.ValidateImport(rows).ShouldNotBeNull();
        error.RowNumber.ShouldBe(3);
        error.Field.ShouldBe(field);
        error.Message.ShouldStartWith("row 3: " + field + " ");
        RateRowValidator.ValidateRow(badRow).ShouldNotBeNull().Field.ShouldBe(field);
        Should.Throw<InvalidOperationException>(() => badRow.ToRateVersion()).Message.ShouldContain(field);
    }

    [Fact]
    public void Values_at_the_edges_of_every_range_are_accepted()
    {
        // Proves the limits are inclusive: 15-digit prefixes, 200-character names (counted as characters, not UTF-16 units), 0 and maximum money, 1 and 3600 s.
        var rows = new[]
        {
            ValidRow with { Prefix = "123456789012345", RatePerMinuteMicros = 0, ConnectionFeeMicros = 0, FirstIncrementSeconds = 1, NextIncrementSeconds = 1 },
            ValidRow with { DestinationName = new string('x', 200), RatePerMinuteMicros = 1_000_000_000, ConnectionFeeMicros = 1_000_000_000 },
            ValidRow with { DestinationName = string.Concat(Enumerable.Repeat("\U0001F4DE", 200)), FirstIncrementSeconds = 3_600, NextIncrementSeconds = 3_600, Prefix = "9" },
        };
        RateRowValidator.ValidateImport(rows).ShouldBeNull();
        rows.Select(row => row.ToRateVersion().Tariff.Prefix).ShouldBe(["123456789012345", "44", "9"]);
    }

    [Fact]
    public void A_repeated_call_type_prefix_and_moment_is_reported_with_both_rows()
    {
        // Proves a duplicate in one import names the later row and the earlier row it repeats.
        var rows = new[]
        {
            ValidRow,
            ValidRow with { Prefix = "447" },
            ValidRow with { CallType = CallType.TollFreeInbound },
            ValidRow with { EffectiveFrom = RatingTestData.Epoch.AddSeconds(1) },
            ValidRow with { Prefix = "447", RatePerMinuteMicros = 5 },
        };
        var error = RateRowValidator.ValidateImport(rows).ShouldNotBeNull();
        error.RowNumber.ShouldBe(5);
        error.DuplicateOfRowNumber.ShouldBe(2);
        error.Field.ShouldBe("effective_from");
        error.Message.ShouldBe("row 5: effective_from repeats row 2: same call_type, prefix and effective_from");
    }

    [Fact]
    public void The_first_bad_row_is_the_one_reported()
    {
        // Proves rows are checked in order and the earliest problem is the one returned.
        var rows = new[] { ValidRow, ValidRow with { Prefix = "x" }, ValidRow with { RatePerMinuteMicros = -1 } };
        RateRowValidator.ValidateImport(rows).ShouldNotBeNull().RowNumber.ShouldBe(2);
    }

    [Fact]
    public void An_empty_or_oversized_import_is_refused_as_a_whole()
    {
        // Proves the row-count limit of ImportRates (1 to 100,000) is checked before any row.
        var empty = RateRowValidator.ValidateImport([]).ShouldNotBeNull();
        empty.RowNumber.ShouldBeNull();
        empty.Field.ShouldBe("rows");
        var oversized = Enumerable.Range(0, RateRowValidator.MaxRowsPerImport + 1).Select(_ => ValidRow).ToArray();
        RateRowValidator.ValidateImport(oversized).ShouldNotBeNull().Field.ShouldBe("rows");
    }

    [Fact]
    public void A_contract_row_becomes_a_candidate_with_the_same_values()
    {
        // Proves an ImportRates row is read field by field, and a missing or malformed timestamp becomes an effective_from error.
        var row = new RateRow
        {
            CallType = CallType.ConferenceDialOut,
            Prefix = "331",
            DestinationName = "France - Paris",
            RatePerMinuteMicros = 20_000,
            ConnectionFeeMicros = 1_000,
            FirstIncrementSeconds = 30,
            NextIncrementSeconds = 6,
            EffectiveFrom = Timestamp.FromDateTimeOffset(RatingTestData.Epoch),
        };
        var version = RateVersionCandidate.FromContract(row).ToRateVersion();
        version.CallType.ShouldBe(CallType.ConferenceDialOut);
        version.Tariff.Prefix.ShouldBe("331");
        version.Tariff.DestinationName.ShouldBe("France - Paris");
        version.Tariff.RatePerMinuteMicros.ShouldBe(20_000);
        version.Tariff.ConnectionFeeMicros.ShouldBe(1_000);
        version.Tariff.FirstIncrementSeconds.ShouldBe(30);
        version.Tariff.NextIncrementSeconds.ShouldBe(6);
        version.Tariff.EffectiveFrom.ShouldBe(RatingTestData.Epoch);

        row.EffectiveFrom = null;
        RateRowValidator.ValidateRow(RateVersionCandidate.FromContract(row)).ShouldNotBeNull().Field.ShouldBe("effective_from");
        row.EffectiveFrom = new Timestamp { Seconds = 0, Nanos = -1 };
        RateRowValidator.ValidateRow(RateVersionCandidate.FromContract(row)).ShouldNotBeNull().Field.ShouldBe("effective_from");
    }

    [Fact]
    public void A_tariff_cannot_be_built_from_bad_values()
    {
        // Proves the Tariff constructor enforces the same rules, naming the parameter.
        Should.Throw<ArgumentException>(() => RatingTestData.Tariff(prefix: "+44")).ParamName.ShouldBe("prefix");
        Should.Throw<ArgumentException>(() => RatingTestData.Tariff(rateMicrosPerMinute: -1)).ParamName.ShouldBe("ratePerMinuteMicros");
        Should.Throw<ArgumentException>(() => RatingTestData.Tariff(first: 0)).ParamName.ShouldBe("firstIncrementSeconds");
        Should.Throw<ArgumentException>(() => RatingTestData.Tariff(effectiveFrom: DateTimeOffset.Now.ToOffset(TimeSpan.FromHours(2))))
            .ParamName.ShouldBe("effectiveFrom");
        Should.Throw<ArgumentException>(() => new RateVersion(CallType.Unspecified, RatingTestData.Tariff())).ParamName.ShouldBe("callType");
    }
}
