namespace CommsCredits.Tests.Credentials;

using System.Buffers.Text;
using System.Security.Cryptography;
using CommsCredits.Gateway.Credentials;
using FsCheck;
using FsCheck.Fluent;
using Shouldly;
using Xunit;

/// <summary>The key format: what a generated key looks like, and which texts are refused before any lookup.</summary>
public sealed class ApiKeyFormatTests
{
    [Fact]
    public void A_generated_key_parses_back_to_its_id_and_the_hash_that_is_stored()
    {
        // Proves Generate and TryParse agree: cck_ + 12 base32 id + _ + 43 base64url secret, and the parsed hash is
        // SHA-256 of the secret bytes, which is what the database stores.
        var (keyId, key, secretSha256) = ApiKeyFormat.Generate();

        key.Length.ShouldBe(ApiKeyFormat.KeyLength);
        key.ShouldStartWith("cck_" + keyId + "_");
        keyId.ShouldMatch("^[a-z2-7]{12}$");
        var secret = Base64Url.DecodeFromChars(key.AsSpan(17));
        secret.Length.ShouldBe(32);
        secretSha256.ShouldBe(SHA256.HashData(secret));

        var parsedHash = new byte[ApiKeyFormat.HashBytes];
        ApiKeyFormat.TryParse(key, out var parsedId, parsedHash).ShouldBeTrue();
        parsedId.ToString().ShouldBe(keyId);
        parsedHash.ShouldBe(secretSha256);
    }

    [Fact]
    public void Generated_keys_differ()
    {
        // Proves ids and secrets come from a random source: 1000 keys, 1000 distinct ids and keys.
        var keys = Enumerable.Range(0, 1000).Select(_ => ApiKeyFormat.Generate()).ToList();
        keys.Select(key => key.KeyId).Distinct(StringComparer.Ordinal).Count().ShouldBe(1000);
        keys.Select(key => key.Key).Distinct(StringComparer.Ordinal).Count().ShouldBe(1000);
    }

    [Theory]
    [InlineData("")]
    [InlineData("cck_")]
    [InlineData("ccx_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("cck_abcdefghijk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("cck_ABCDEFGHIJKL_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("cck_abcdefghijkl-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("cck_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("cck_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("cck_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("cck_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+")]
    [InlineData("cck_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")]
    public void Text_that_is_not_a_key_is_refused(string text)
    {
        // Proves the parser refuses wrong prefixes, ids outside lower-case base32, a wrong separator, secrets of the
        // wrong length or alphabet, and a non-canonical last character (trailing bits set).
        ApiKeyFormat.TryParse(text, out _, new byte[ApiKeyFormat.HashBytes]).ShouldBeFalse();
    }

    [Fact]
    public void Changing_any_one_character_of_a_key_never_yields_the_same_key()
    {
        // Proves there is exactly one text per key: replacing any character by any other printable one is refused or
        // parses to another id or another secret hash.
        var (keyId, key, secretSha256) = ApiKeyFormat.Generate();
        var cases = from position in Gen.Choose(0, ApiKeyFormat.KeyLength - 1)
                    from character in Gen.Choose(33, 126)
                    where key[position] != (char)character
                    select (position, (char)character);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(5_000), Prop.ForAll(cases.ToArbitrary(), change =>
        {
            var changed = string.Create(key.Length, (key, change), static (span, state) =>
            {
                state.key.CopyTo(span);
                span[state.change.Item1] = state.change.Item2;
            });
            var hash = new byte[ApiKeyFormat.HashBytes];
            return !ApiKeyFormat.TryParse(changed, out var id, hash)
                || !id.SequenceEqual(keyId)
                || !hash.AsSpan().SequenceEqual(secretSha256);
        }));
    }
}
