namespace CommsCredits.Tests.Transport;

using System.IO.Pipelines;
using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Transport.Echo;
using FsCheck;
using FsCheck.Fluent;
using Google.Protobuf;
using Shouldly;
using Xunit;

/// <summary>The length-prefixed message reader, fed through a pipe in arbitrary pieces.</summary>
public sealed class MessageFramingTests
{
    private const int LimitBytes = 64 * 1024;
    private static readonly MessageReadSettings Settings = new(LimitBytes, "gzip", "request", StatusCode.Unimplemented);

    [Fact]
    public void Messages_are_read_whole_however_the_bytes_are_split()
    {
        // Proves, over random message sizes, random compression and random split points, that the reader
        // returns exactly the messages written, in order, and then the end of the stream.
        var scenarios =
            from lengths in Gen.ListOf(Gen.Choose(0, 3000))
            from compressed in Gen.ListOf(Gen.Elements(true, false))
            from chunkSizes in Gen.NonEmptyListOf(Gen.Choose(1, 700))
            select (Lengths: lengths.ToArray(), Compressed: compressed.ToArray(), ChunkSizes: chunkSizes.ToArray());

        Prop.ForAll(scenarios.ToArbitrary(), scenario =>
        {
            var texts = scenario.Lengths.Select((length, index) => new string((char)('a' + (index % 26)), length)).ToArray();
            var body = texts.SelectMany((text, index) => Frame(text, index < scenario.Compressed.Length && scenario.Compressed[index])).ToArray();
            var read = ReadAllAsync(body, scenario.ChunkSizes).GetAwaiter().GetResult();
            return read.SequenceEqual(texts, StringComparer.Ordinal);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public async Task Declared_length_over_the_limit_fails_before_the_payload_arrives()
    {
        // Proves the limit is checked on the prefix alone: the reader fails without waiting for (or buffering)
        // a payload that never comes.
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 1, 0, 1 });
        var exception = await Should.ThrowAsync<RpcException>(
            PipeMessageReader.ReadAsync(pipe.Reader, EchoRequest.Parser, Settings, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        await pipe.Writer.CompleteAsync();

        exception.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        exception.Status.Detail.ShouldBe("request message of 65537 bytes is larger than the limit of 65536 bytes");
    }

    [Fact]
    public async Task Message_of_exactly_the_limit_is_accepted()
    {
        // Proves the limit is inclusive, compressed or not.
        var text = new string('z', LimitBytes - 4);
        var message = new EchoRequest { Text = text };
        message.CalculateSize().ShouldBe(LimitBytes);

        (await ReadAllAsync(Frame(text, compressed: false), [LimitBytes * 2])).Single().ShouldBe(text);
        (await ReadAllAsync(Frame(text, compressed: true), [333])).Single().ShouldBe(text);
    }

    [Fact]
    public async Task Decompressed_size_over_the_limit_is_RESOURCE_EXHAUSTED()
    {
        // Proves a small compressed message that inflates one byte past the limit is refused.
        var exception = await Should.ThrowAsync<RpcException>(ReadAllAsync(Frame(new string('z', LimitBytes - 3), compressed: true), [1000]));

        exception.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
    }

    [Fact]
    public async Task Corrupt_gzip_is_INTERNAL()
    {
        // Proves a compressed payload that is not gzip fails with INTERNAL rather than an unhandled exception.
        var exception = await Should.ThrowAsync<RpcException>(ReadAllAsync(GrpcWire.Frame([1, 2, 3, 4, 5, 6], compressedFlag: 1), [100]));

        exception.StatusCode.ShouldBe(StatusCode.Internal);
        exception.Status.Detail.ShouldContain("decompress");
    }

    [Fact]
    public async Task Stream_ending_inside_a_message_is_INTERNAL()
    {
        // Proves a truncated message is reported, not returned as a shorter one or treated as a clean end.
        var body = Frame("truncated", compressed: false);
        var exception = await Should.ThrowAsync<RpcException>(ReadAllAsync(body[..^3], [2]));

        exception.StatusCode.ShouldBe(StatusCode.Internal);
        exception.Status.Detail.ShouldContain("incomplete");
    }

    [Fact]
    public async Task Empty_message_is_a_default_message()
    {
        // Proves a zero-length message (all fields default) is a message, not the end of the stream.
        (await ReadAllAsync([0, 0, 0, 0, 0], [1])).ShouldBe([string.Empty]);
    }

    private static byte[] Frame(string text, bool compressed)
    {
        var bytes = new EchoRequest { Text = text }.ToByteArray();
        return compressed ? GrpcWire.Frame(GrpcWire.Gzip(bytes), compressedFlag: 1) : GrpcWire.Frame(bytes, compressedFlag: 0);
    }

    /// <summary>Reads every message from the body handed out in chunks (cycling through the sizes).</summary>
    private static async Task<List<string>> ReadAllAsync(byte[] body, int[] chunkSizes)
    {
        var reader = new ChunkedPipeReader(body, chunkSizes);
        var texts = new List<string>();
        while (await PipeMessageReader.ReadAsync(reader, EchoRequest.Parser, Settings, CancellationToken.None) is { } message)
        {
            texts.Add(message.Text);
        }

        var expectedReads = chunkSizes.Length == 1 ? (body.Length + chunkSizes[0] - 1) / chunkSizes[0] : 1;
        reader.Reads.ShouldBeGreaterThanOrEqualTo(expectedReads);
        return texts;
    }
}
