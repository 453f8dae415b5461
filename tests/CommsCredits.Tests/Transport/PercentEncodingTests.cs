namespace CommsCredits.Tests.Transport;

using System.Text;
using CommsCredits.Grpc.Internal;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

/// <summary>The percent-encoding of grpc-message.</summary>
public sealed class PercentEncodingTests
{
    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100%", "100%25")]
    [InlineData("line\nbreak\ttab", "line%0Abreak%09tab")]
    [InlineData("5 €", "5 %E2%82%AC")]
    [InlineData("日本", "%E6%97%A5%E6%9C%AC")]
    [InlineData("~ and DEL\u007F", "~ and DEL%7F")]
    [InlineData("", "")]
    public void Encodes_bytes_outside_printable_ASCII_and_the_percent_sign(string text, string expected)
    {
        // Proves the exact encoded form: UTF-8, upper-case hex, only 0x20-0x7E except '%' left alone.
        PercentEncoding.Encode(text).ShouldBe(expected);
    }

    [Theory]
    [InlineData("%", "%")]
    [InlineData("abc%4", "abc%4")]
    [InlineData("%ZZok", "%ZZok")]
    [InlineData("%e2%82%ac", "€")]
    [InlineData("%FF", "\uFFFD")]
    [InlineData("a%20b", "a b")]
    public void Decodes_leniently_keeping_broken_sequences(string encoded, string expected)
    {
        // Proves decoding never fails: broken %-sequences stay as they are, invalid UTF-8 becomes U+FFFD.
        PercentEncoding.Decode(encoded).ShouldBe(expected);
    }

    [Fact]
    public void Text_without_special_characters_is_not_copied()
    {
        // Proves the common case costs no allocation: the same string instance comes back both ways.
        const string text = "insufficient balance";
        PercentEncoding.Encode(text).ShouldBeSameAs(text);
        PercentEncoding.Decode(text).ShouldBeSameAs(text);
    }

    [Fact]
    public void Round_trip_preserves_any_well_formed_text()
    {
        // Proves Decode(Encode(x)) == x for any valid UTF-16 text, and that the encoded form is printable ASCII.
        Prop.ForAll<string>(text =>
        {
            if (text is null || !IsWellFormed(text))
            {
                return true;
            }

            var encoded = PercentEncoding.Encode(text);
            return encoded.All(character => character is >= ' ' and <= '~')
                && string.Equals(PercentEncoding.Decode(encoded), text, StringComparison.Ordinal);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Long_non_ASCII_text_round_trips()
    {
        // Proves texts longer than the stack buffers take the pooled path correctly.
        var text = string.Concat(Enumerable.Repeat("Überweisung fehlgeschlagen € ", 50));
        PercentEncoding.Decode(PercentEncoding.Encode(text)).ShouldBe(text);
    }

    private static bool IsWellFormed(string text)
    {
        try
        {
            _ = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetByteCount(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }
}
