namespace CommsCredits.Tests.Transport;

using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using Shouldly;
using Xunit;

/// <summary>Which metadata keys and values are valid, and how header fields become metadata.</summary>
public sealed class MetadataValidationTests
{
    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("colon:key")]
    [InlineData("ünicode")]
    public void Keys_outside_the_allowed_characters_are_refused(string key)
    {
        // Proves Metadata accepts only keys of [a-z0-9._-] (after folding case), never empty.
        Should.Throw<ArgumentException>(() => new Metadata().Add(key, "value"));
    }

    [Fact]
    public void Keys_are_folded_to_lower_case_and_bounded_in_length()
    {
        // Proves upper-case keys are stored lower-case, and a key over 256 characters is refused.
        new Metadata().Add("X-Request-Id", "1")[0].Key.ShouldBe("x-request-id");
        Should.Throw<ArgumentException>(() => new Metadata().Add(new string('k', Metadata.MaxKeyLength + 1), "v"));
    }

    [Fact]
    public void Text_and_binary_entries_keep_to_their_kind()
    {
        // Proves a text value must be printable ASCII, a "-bin" key carries bytes and only bytes, and bytes are
        // shown as unpadded base64.
        Should.Throw<ArgumentException>(() => new Metadata().Add("k", "line\nbreak"));
        Should.Throw<ArgumentException>(() => new Metadata().Add("k", "café"));
        Should.Throw<ArgumentException>(() => new Metadata().Add("k-bin", "text"));
        Should.Throw<ArgumentException>(() => new Metadata().Add("k", [1, 2]));
        new Metadata().Add("k-bin", [1, 2])[0].Value.ShouldBe("AQI");
    }

    [Theory]
    [InlineData("AQID", new byte[] { 1, 2, 3 })]
    [InlineData("AQI=", new byte[] { 1, 2 })]
    [InlineData("AQI", new byte[] { 1, 2 })]
    [InlineData("AQ==", new byte[] { 1 })]
    [InlineData("AQ", new byte[] { 1 })]
    [InlineData("", new byte[0])]
    public void Base64_is_accepted_with_or_without_padding(string text, byte[] expected)
    {
        // Proves both padded and unpadded base64 decode (PROTOCOL-HTTP2.md: implementations MUST accept both).
        MetadataEncoding.TryDecodeBase64(text, out var bytes).ShouldBeTrue();
        bytes.ShouldBe(expected);
    }

    [Theory]
    [InlineData("A")]
    [InlineData("A*B=")]
    [InlineData("AQI=AQI=")]
    public void Invalid_base64_is_refused(string text)
    {
        // Proves malformed base64 is detected, so the call can fail with INTERNAL.
        MetadataEncoding.TryDecodeBase64(text, out _).ShouldBeFalse();
    }

    [Fact]
    public void Received_header_fields_become_metadata_or_are_dropped()
    {
        // Proves reserved and pseudo-headers never become metadata, invalid text values are dropped (the spec
        // lets us), comma-joined binary values are split, and bad base64 is reported.
        var metadata = new Metadata();
        MetadataEncoding.TryAdd(metadata, "content-type", "application/grpc").ShouldBe(MetadataEncoding.AddResult.Ignored);
        MetadataEncoding.TryAdd(metadata, "grpc-timeout", "1S").ShouldBe(MetadataEncoding.AddResult.Ignored);
        MetadataEncoding.TryAdd(metadata, ":path", "/x/y").ShouldBe(MetadataEncoding.AddResult.Ignored);
        MetadataEncoding.TryAdd(metadata, "TE", "trailers").ShouldBe(MetadataEncoding.AddResult.Ignored);
        MetadataEncoding.TryAdd(metadata, "tab", "a\tb").ShouldBe(MetadataEncoding.AddResult.Ignored);
        MetadataEncoding.TryAdd(metadata, "User-Agent", "grpc-python/1.51").ShouldBe(MetadataEncoding.AddResult.Added);
        MetadataEncoding.TryAdd(metadata, "ids-bin", "AQ,Ag==").ShouldBe(MetadataEncoding.AddResult.Added);
        MetadataEncoding.TryAdd(metadata, "bad-bin", "***").ShouldBe(MetadataEncoding.AddResult.InvalidBinary);

        metadata.Select(entry => entry.Key).ShouldBe(["user-agent", "ids-bin", "ids-bin"]);
        metadata[1].ValueBytes.ShouldBe(new byte[] { 1 });
        metadata[2].ValueBytes.ShouldBe(new byte[] { 2 });
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("Application/GRPC", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("application/grpc+json", false)]
    [InlineData("application/grpcx", false)]
    [InlineData("text/plain", false)]
    [InlineData(null, false)]
    public void Only_protobuf_grpc_content_types_are_served(string? contentType, bool served)
    {
        // Proves which content types a bound method serves; the others get HTTP 415.
        GrpcProtocol.IsSupportedContentType(contentType).ShouldBe(served);
    }
}
