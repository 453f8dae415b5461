using System.Globalization;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace CommsCredits.Tests.Balances;

/// <summary>
/// The decoding of the "length:text," lists the Lua scripts return (common.lua, encode) and the month the scripts count
/// pools by. Decode has a fast path for ASCII text and a UTF-8 path for the rest; both must cut the same fields.
/// </summary>
public sealed class NetstringsTests
{
    /// <summary>Lists of fields: empty, with empty fields, with separators inside fields, and with non-ASCII text.</summary>
    public static TheoryData<string[]> FieldLists { get; } = new()
    {
        Array.Empty<string>(),
        new[] { "" },
        new[] { "2001", "", "300", "" },
        new[] { "9c2f6a1be07d4c35", "a:b,c", "12:34," },
        new[] { "München - Mobil", "", "1200000" },
        new[] { "日本 - 携帯", "🙂", "x" },
    };

    [Theory]
    [MemberData(nameof(FieldLists))]
    public void Decode_returns_the_fields_encode_wrote_whether_the_text_is_ASCII_or_not(string[] fields)
    {
        // Proves each field comes back whole, with lengths counted in UTF-8 bytes as common.lua counts them.
        Netstrings.Decode(Encode(fields)).ShouldBe(fields);
    }

    [Fact]
    public void Decode_of_64_fields_succeeds_and_of_65_is_refused()
    {
        // Proves the field bound holds exactly at MaxFields.
        var most = Enumerable.Range(0, Netstrings.MaxFields).Select(index => index.ToString(CultureInfo.InvariantCulture)).ToArray();
        Netstrings.Decode(Encode(most)).ShouldBe(most);
        Should.Throw<FormatException>(() => Netstrings.Decode(Encode([.. most, "x"])));
    }

    [Theory]
    [InlineData("3:abc;1:x")]
    [InlineData("4:abc")]
    [InlineData("abc")]
    [InlineData("x:abc")]
    [InlineData("-1:a")]
    [InlineData(" 1:a")]
    [InlineData("1:é")]
    public void Decode_refuses_a_broken_list(string encoded)
    {
        // Proves a wrong separator, a short field, a missing or non-decimal length, or a length that cuts a UTF-8
        // character short is a FormatException, as the sweeper and the reconciler expect of bad settlements.
        Should.Throw<FormatException>(() => Netstrings.Decode(encoded));
    }

    [Fact]
    public void Decode_accepts_a_comma_after_the_last_field()
    {
        // Proves the decoder keeps its old tolerance: "3:abc," is the one field "abc".
        Netstrings.Decode("3:abc,").ShouldBe(["abc"]);
    }

    [Theory]
    [InlineData("2026-12-03T09:30:00+00:00", "202612")]
    [InlineData("2026-01-01T00:30:00+01:00", "202512")]
    [InlineData("0999-02-01T00:00:00+00:00", "099902")]
    [InlineData("9999-12-31T23:59:59+00:00", "999912")]
    public void Format_month_is_the_UTC_year_and_month_as_six_digits(string moment, string expected)
    {
        // Proves the month is taken in UTC and zero-padded, as the scripts' pool months are.
        var month = SettlementCodec.FormatMonth(DateTimeOffset.Parse(moment, CultureInfo.InvariantCulture));
        month.ShouldBe(expected);
        SettlementCodec.ParseMonth(month).ShouldBe(new DateOnly(int.Parse(expected[..4], CultureInfo.InvariantCulture), int.Parse(expected[4..], CultureInfo.InvariantCulture), 1));
    }

    [Fact]
    public void The_tests_encoder_writes_what_common_lua_writes()
    {
        // Proves the helper every decode test builds its input with: lengths in UTF-8 bytes, items joined by ','.
        ScriptText.Encode("abc", "", "é").ShouldBe("3:abc,0:,2:é");
    }

    private static string Encode(string[] fields) => ScriptText.Encode(fields);
}
