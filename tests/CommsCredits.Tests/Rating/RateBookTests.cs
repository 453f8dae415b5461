using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;
using Shouldly;
using Xunit;

namespace CommsCredits.Tests.Rating;

public sealed class RateBookTests
{
    private static readonly DateTimeOffset January2025 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset January2026 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset June2026 = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset January2027 = new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_longest_matching_prefix_wins()
    {
        // Proves a number is rated by its longest prefix in the table: a UK mobile number gets the 447 rate, a London one the 44 rate.
        var book = Book(
            Outbound("44", 1_000_000, January2025, "United Kingdom"),
            Outbound("447", 2_000_000, January2025, "United Kingdom - Mobile"),
            Outbound("4477", 3_000_000, January2025, "United Kingdom - Mobile 77"));

        Find(book, CallType.OutboundPstn, "+447700900123", June2026).Prefix.ShouldBe("4477");
        Find(book, CallType.OutboundPstn, "+447123456789", June2026).Prefix.ShouldBe("447");
        Find(book, CallType.OutboundPstn, "+442071234567", June2026).Prefix.ShouldBe("44");
    }

    [Fact]
    public void A_longer_prefix_not_yet_in_force_does_not_hide_a_shorter_one()
    {
        // Proves a prefix whose only version starts later is skipped, so the shorter prefix in force still rates the call.
        var book = Book(
            Outbound("44", 1_000_000, January2025),
            Outbound("447", 2_000_000, June2026));

        Find(book, CallType.OutboundPstn, "+447700900123", January2026).Prefix.ShouldBe("44");
        Find(book, CallType.OutboundPstn, "+447700900123", June2026).Prefix.ShouldBe("447");
    }

    [Fact]
    public void The_latest_version_in_force_wins_and_takes_effect_at_its_exact_moment()
    {
        // Proves the version with the latest effective_from ≤ at applies, effective_from itself included, and later ones do not.
        var book = Book(
            Outbound("44", 1_000_000, January2025),
            Outbound("44", 3_000_000, January2027),
            Outbound("44", 2_000_000, January2026));

        Find(book, CallType.OutboundPstn, "+442071234567", June2026).RatePerMinuteMicros.ShouldBe(2_000_000);
        Find(book, CallType.OutboundPstn, "+442071234567", January2026).RatePerMinuteMicros.ShouldBe(2_000_000);
        Find(book, CallType.OutboundPstn, "+442071234567", January2026.AddTicks(-1)).RatePerMinuteMicros.ShouldBe(1_000_000);
        Find(book, CallType.OutboundPstn, "+442071234567", January2027.AddYears(5)).RatePerMinuteMicros.ShouldBe(3_000_000);
        book.TryFind(CallType.OutboundPstn, "+442071234567", January2025.AddTicks(-1), out _).ShouldBeFalse();
    }

    [Fact]
    public void The_moment_is_compared_as_an_instant_whatever_its_offset()
    {
        // Proves a lookup time given with a time-zone offset is compared by its UTC instant.
        var book = Book(Outbound("44", 1_000_000, January2026));
        var justBeforeInParis = new DateTimeOffset(2026, 1, 1, 0, 59, 59, TimeSpan.FromHours(1));
        book.TryFind(CallType.OutboundPstn, "+442071234567", justBeforeInParis, out _).ShouldBeFalse();
        book.TryFind(CallType.OutboundPstn, "+442071234567", justBeforeInParis.AddSeconds(1), out _).ShouldBeTrue();
    }

    [Fact]
    public void Each_call_type_has_its_own_table()
    {
        // Proves a prefix rated for one call type says nothing about another call type.
        var book = Book(
            Outbound("44", 1_000_000, January2025),
            new RateVersion(CallType.TollFreeInbound, RatingTestData.Tariff(rateMicrosPerMinute: 50_000, prefix: "44", effectiveFrom: January2025)));

        Find(book, CallType.OutboundPstn, "+442071234567", June2026).RatePerMinuteMicros.ShouldBe(1_000_000);
        Find(book, CallType.TollFreeInbound, "+442071234567", June2026).RatePerMinuteMicros.ShouldBe(50_000);
        book.TryFind(CallType.ConferenceDialOut, "+442071234567", June2026, out var tariff).ShouldBeFalse();
        tariff.ShouldBeNull();
    }

    [Fact]
    public void A_number_without_a_matching_prefix_has_no_rate()
    {
        // Proves TryFind answers false, not an error, when no prefix matches; also for an empty book.
        var book = Book(Outbound("44", 1_000_000, January2025), Outbound("4420", 1_000_000, January2025));
        book.TryFind(CallType.OutboundPstn, "+33123456789", June2026, out _).ShouldBeFalse();
        book.TryFind(CallType.OutboundPstn, "+4", June2026, out _).ShouldBeFalse();
        RateBook.Empty.TryFind(CallType.OutboundPstn, "+442071234567", June2026, out _).ShouldBeFalse();
    }

    [Fact]
    public void A_fifteen_digit_prefix_matches_a_fifteen_digit_number()
    {
        // Proves the deepest possible prefix, all 15 digits of a number, is found.
        var book = Book(Outbound("44", 1_000_000, January2025), Outbound("123456789012345", 9_000_000, January2025));
        Find(book, CallType.OutboundPstn, "+123456789012345", June2026).Prefix.ShouldBe("123456789012345");
        book.TryFind(CallType.OutboundPstn, "+12345678901234", June2026, out _).ShouldBeFalse();
    }

    [Theory]
    [InlineData("442071234567")]
    [InlineData("+")]
    [InlineData("")]
    [InlineData("+0442071234567")]
    [InlineData("+1234567890123456")]
    [InlineData("+44 20 7123 4567")]
    [InlineData("+44-2071234567")]
    [InlineData("++442071234567")]
    [InlineData("+44207123456a")]
    [InlineData("+٤٤٢٠٧١٢٣٤٥٦٧")]
    public void Numbers_that_are_not_E164_are_rejected(string number)
    {
        // Proves a malformed number is refused as a programming error (the request validation must catch it), not rated.
        var book = Book(Outbound("44", 1_000_000, January2025));
        E164.IsValid(number).ShouldBeFalse();
        Should.Throw<ArgumentException>(() => book.TryFind(CallType.OutboundPstn, number, June2026, out _));
    }

    [Fact]
    public void E164_numbers_give_their_digits()
    {
        // Proves the valid forms: '+', a first digit 1 to 9, 1 to 15 digits in all.
        E164.TryGetDigits("+442071234567", out var digits).ShouldBeTrue();
        digits.ToString().ShouldBe("442071234567");
        E164.IsValid("+1").ShouldBeTrue();
        E164.IsValid("+123456789012345").ShouldBeTrue();
    }

    [Fact]
    public void A_call_type_without_a_table_is_rejected()
    {
        // Proves an unspecified or unknown call type is refused instead of silently finding no rate.
        var book = Book(Outbound("44", 1_000_000, January2025));
        Should.Throw<ArgumentException>(() => book.TryFind(CallType.Unspecified, "+442071234567", June2026, out _));
        Should.Throw<ArgumentException>(() => book.TryFind((CallType)42, "+442071234567", June2026, out _));
    }

    [Fact]
    public void Two_versions_of_one_prefix_from_the_same_moment_cannot_be_loaded()
    {
        // Proves an ambiguous table (same call type, prefix and effective_from twice) is refused when the book is built.
        Should.Throw<ArgumentException>(() => Book(
            Outbound("44", 1_000_000, January2025),
            Outbound("44", 2_000_000, January2025)));
    }

    [Fact]
    public void The_rated_number_depends_on_the_call_type()
    {
        // Proves outbound and dial-out calls are rated on the called number, toll-free calls on the calling number.
        RateBook.RatedNumber(CallType.OutboundPstn, "+441", "+332").ShouldBe("+332");
        RateBook.RatedNumber(CallType.ConferenceDialOut, "+441", "+332").ShouldBe("+332");
        RateBook.RatedNumber(CallType.TollFreeInbound, "+441", "+18005550100").ShouldBe("+441");
        Should.Throw<ArgumentOutOfRangeException>(() => RateBook.RatedNumber(CallType.Unspecified, "+441", "+332"));
    }

    [Fact]
    public void A_lookup_allocates_nothing()
    {
        // Proves the hot path does not allocate: a thousand lookups leave the thread's allocation counter unchanged.
        var book = Book(Outbound("44", 1_000_000, January2025), Outbound("447", 2_000_000, January2026));
        var number = "+447700900123";
        book.TryFind(CallType.OutboundPstn, number, June2026, out _).ShouldBeTrue();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var found = 0;
        for (var lookup = 0; lookup < 1_000; lookup++)
        {
            found += book.TryFind(CallType.OutboundPstn, number, June2026, out _) ? 1 : 0;
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
        found.ShouldBe(1_000);
    }

    [Fact]
    public void Lookups_agree_with_a_linear_scan_of_the_rule()
    {
        // Proves the trie implements the rule exactly, against a direct reading of it over random overlapping tables.
        var random = new Random(20_250_101);
        for (var round = 0; round < 20; round++)
        {
            var versions = RateBookReference.RandomVersions(random, 300);
            var book = new RateBook(versions);
            for (var query = 0; query < 500; query++)
            {
                var (callType, number, at) = RateBookReference.RandomQuery(random);
                var expected = RateBookReference.Find(versions, callType, number, at);
                book.TryFind(callType, number, at, out var actual).ShouldBe(expected is not null);
                actual.ShouldBeSameAs(expected);
            }
        }
    }

    [Fact]
    public async Task Many_concurrent_readers_all_get_the_right_answers()
    {
        // Proves a book is safe to share: eight threads looking up at once all get what a single thread gets.
        var random = new Random(7);
        var versions = RateBookReference.RandomVersions(random, 5_000);
        var book = new RateBook(versions);
        var queries = Enumerable.Range(0, 2_000).Select(_ => RateBookReference.RandomQuery(random)).ToArray();
        var expected = queries.Select(query => RateBookReference.Find(versions, query.CallType, query.Number, query.At)).ToArray();

        var readers = Enumerable.Range(0, 8).Select(reader => Task.Run(() =>
        {
            var wrong = 0;
            for (var pass = 0; pass < 25; pass++)
            {
                for (var index = 0; index < queries.Length; index++)
                {
                    var query = queries[(index + (reader * 250)) % queries.Length];
                    book.TryFind(query.CallType, query.Number, query.At, out var tariff);
                    wrong += ReferenceEquals(tariff, expected[(index + (reader * 250)) % queries.Length]) ? 0 : 1;
                }
            }

            return wrong;
        }));

        (await Task.WhenAll(readers)).Sum().ShouldBe(0);
    }

    private static RateVersion Outbound(string prefix, long rateMicrosPerMinute, DateTimeOffset effectiveFrom, string destinationName = "Destination") =>
        new(CallType.OutboundPstn, RatingTestData.Tariff(
            rateMicrosPerMinute: rateMicrosPerMinute, prefix: prefix, destinationName: destinationName, effectiveFrom: effectiveFrom));

    private static RateBook Book(params RateVersion[] versions) => new(versions);

    private static Tariff Find(RateBook book, CallType callType, string number, DateTimeOffset at)
    {
        book.TryFind(callType, number, at, out var tariff).ShouldBeTrue();
        return tariff;
    }
}
