namespace CommsCredits.MicroBench.Serialization;

using BenchmarkDotNet.Attributes;
using CommsCredits.Contracts.V1;
using Google.Protobuf;

/// <summary>
/// Google.Protobuf's parse and serialize of the messages of a Reserve (the CCR-I of RFC 4006): the request the
/// gateway parses and the answer it writes, from the types generated from protos/commscredits/v1/charging.proto.
/// The 2,000-row rate import is the large message of FramingBenchmarks, parsed alone.
/// </summary>
[MemoryDiagnoser]
public class ProtobufBenchmarks
{
    private readonly ReserveRequest request = SampleData.Reserve("+447700900123");
    private readonly ReserveResponse answer = SampleData.ReserveAnswer();
    private readonly byte[] buffer = new byte[256];
    private byte[] requestBytes = [];
    private byte[] answerBytes = [];
    private byte[] importBytes = [];

    [GlobalSetup]
    public void Setup()
    {
        requestBytes = request.ToByteArray();
        answerBytes = answer.ToByteArray();
        importBytes = SampleData.ImportRates(2_000).ToByteArray();
    }

    [Benchmark]
    public ReserveRequest ParseReserveRequest() => ReserveRequest.Parser.ParseFrom(requestBytes);

    [Benchmark]
    public int SerializeReserveRequest()
    {
        var size = request.CalculateSize();
        request.WriteTo(buffer.AsSpan(0, size));
        return size;
    }

    [Benchmark]
    public ReserveResponse ParseReserveResponse() => ReserveResponse.Parser.ParseFrom(answerBytes);

    /// <summary>The answer as the gateway builds and writes it: a new message each time, so sizes are not cached.</summary>
    [Benchmark]
    public int BuildAndSerializeReserveResponse()
    {
        var fresh = SampleData.ReserveAnswer();
        var size = fresh.CalculateSize();
        fresh.WriteTo(buffer.AsSpan(0, size));
        return size;
    }

    [Benchmark]
    public int ParseImportRates2000Rows() => ImportRatesRequest.Parser.ParseFrom(importBytes).Rows.Count;
}
