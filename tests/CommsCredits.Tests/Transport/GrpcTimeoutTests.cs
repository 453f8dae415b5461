namespace CommsCredits.Tests.Transport;

using CommsCredits.Grpc.Internal;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

/// <summary>The grpc-timeout header: parsing what clients send and formatting what ours sends.</summary>
public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("100n", 1L)]
    [InlineData("1n", 1L)]
    [InlineData("0m", 0L)]
    [InlineData("99999999H", 99_999_999L * 36_000_000_000L)]
    public void Parses_every_unit(string text, long expectedTicks)
    {
        // Proves each unit's scale, nanoseconds rounding up to a tick, and that the largest value fits.
        GrpcTimeout.TryParse(text, out var timeout).ShouldBeTrue();
        timeout.Ticks.ShouldBe(expectedTicks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("1")]
    [InlineData("123456789S")]
    [InlineData("1s")]
    [InlineData("1h")]
    [InlineData("-1S")]
    [InlineData("+1S")]
    [InlineData(" 1S")]
    [InlineData("1.5S")]
    [InlineData("1SS")]
    public void Rejects_malformed_values(string text)
    {
        // Proves anything but 1-8 digits and one of H M S m u n is refused.
        GrpcTimeout.TryParse(text, out _).ShouldBeFalse();
    }

    [Theory]
    [InlineData(0L, "1n")]
    [InlineData(1L, "100n")]
    [InlineData(10_000_000L, "1000000u")]
    [InlineData(36_000_000_000L, "3600000m")]
    public void Formats_in_the_finest_unit_that_fits(long ticks, string expected)
    {
        // Proves formatting picks the most precise unit within 8 digits and never sends zero.
        GrpcTimeout.Format(TimeSpan.FromTicks(ticks)).ShouldBe(expected);
    }

    [Fact]
    public void Format_then_parse_never_shortens_a_timeout()
    {
        // Proves, for any timeout up to 100 days, the header parses back to at least the original and at most
        // 0.01% or one tick longer: the server never sees a shorter deadline than the client set.
        Prop.ForAll<long>(seed =>
        {
            var ticks = (long)(Math.Abs((double)seed) % TimeSpan.FromDays(100).Ticks) + 1;
            var text = GrpcTimeout.Format(TimeSpan.FromTicks(ticks));
            return text.Length <= 9
                && GrpcTimeout.TryParse(text, out var parsed)
                && parsed.Ticks >= ticks
                && parsed.Ticks - ticks <= Math.Max(1, ticks / 10_000);
        }).QuickCheckThrowOnFailure();
    }
}
