namespace CommsCredits.MicroBench.Framing;

using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Client.Internal;
using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;

/// <summary>
/// The gRPC Length-Prefixed-Message framing of CommsCredits.Grpc in both directions: the server reading a request
/// from its body pipe and framing its response, the client framing its request body and reading the response.
/// Small is a Reserve (about 100 bytes); large is a 2,000-row rate import (about 110 KB), delivered in 16 KB pieces
/// as HTTP/2 DATA frames bring it, so the reader's spanning path runs. The figures include protobuf's own parse and
/// serialize of the message (ProtobufBenchmarks has those alone).
/// </summary>
[MemoryDiagnoser]
public class FramingBenchmarks
{
    private const int DataFrameBytes = 16_384;

    private static readonly MessageReadSettings Settings = new(4 * 1024 * 1024, null, "request", StatusCode.Unimplemented);

    private readonly ArrayBufferWriter<byte> responseBody = new(256 * 1024);
    private Pipe pipe = null!;
    private IMessage message = null!;
    private int messageSize;
    private byte[] framed = [];

    public enum MessageSize
    {
        Small,
        Large,
    }

    [Params(MessageSize.Small, MessageSize.Large)]
    public MessageSize Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        message = Size == MessageSize.Small ? SampleData.Reserve("+447700900123") : SampleData.ImportRates(2_000);
        messageSize = message.CalculateSize();
        framed = new byte[MessageFrame.HeaderLength + messageSize];
        MessageFrame.WriteHeader(framed, compressed: false, messageSize);
        message.WriteTo(framed.AsSpan(MessageFrame.HeaderLength));

        // Inline schedulers: a read completes on the flush that brings its last bytes, as on Kestrel's request pipe.
        pipe = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, pauseWriterThreshold: 0, useSynchronizationContext: false));
    }

    /// <summary>ServerCall.ReadSingleRequestAsync's core: PipeMessageReader on the request body as DATA frames arrive.</summary>
    [Benchmark]
    public Task<int> ServerReadRequest() =>
        Size == MessageSize.Small ? ReadWhileArrivingAsync(ReserveRequest.Parser) : ReadWhileArrivingAsync(ImportRatesRequest.Parser);

    /// <summary>ServerCall.WriteResponseMessage's framing: size, header, message into the response body writer.</summary>
    [Benchmark]
    public int ServerWriteResponse()
    {
        responseBody.ResetWrittenCount();
        MessageFrame.Write(responseBody, message, message.CalculateSize());
        return responseBody.WrittenCount;
    }

    /// <summary>The client's request body as HttpClient sends it: UnaryRequestContent framed into a pooled buffer and written out.</summary>
    [Benchmark]
    public async Task<int> ClientWriteRequest()
    {
        var size = message.CalculateSize();
        using var content = new UnaryRequestContent(message, size);
        await content.CopyToAsync(Stream.Null);
        return size;
    }

    /// <summary>GrpcChannel's response read: PipeReader over the response stream, then PipeMessageReader.</summary>
    [Benchmark]
    public async Task<int> ClientReadResponse()
    {
        using var stream = new MemoryStream(framed, writable: false);
        var reader = GrpcChannel.CreateResponseReader(stream);
        try
        {
            var read = Size == MessageSize.Small
                ? await PipeMessageReader.ReadAsync(reader, ReserveRequest.Parser, Settings, CancellationToken.None)
                : (IMessage?)await PipeMessageReader.ReadAsync(reader, ImportRatesRequest.Parser, Settings, CancellationToken.None);
            return read!.CalculateSize();
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>Starts the read before any byte is there, then delivers the frame piece by piece.</summary>
    private async Task<int> ReadWhileArrivingAsync<T>(MessageParser<T> parser)
        where T : IMessage<T>
    {
        var pending = PipeMessageReader.ReadAsync(pipe.Reader, parser, Settings, CancellationToken.None);
        for (var offset = 0; offset < framed.Length; offset += DataFrameBytes)
        {
            pipe.Writer.Write(framed.AsSpan(offset, Math.Min(DataFrameBytes, framed.Length - offset)));
            await pipe.Writer.FlushAsync();
        }

        var read = await pending;
        return read is null ? -1 : framed.Length;
    }
}
