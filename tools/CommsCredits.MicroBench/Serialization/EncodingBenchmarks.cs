namespace CommsCredits.MicroBench.Serialization;

using BenchmarkDotNet.Attributes;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Tenants;
using static CommsCredits.Gateway.Charging.AnswerBuilder;

/// <summary>
/// The gateway's own encodings on the charging path: the request fingerprint, the script arguments a Reserve and an
/// Update or Terminate send to Redis, and the decoding of what the scripts return (the stored answer, the settlement
/// of a Reserve and of a Terminate).
/// </summary>
[MemoryDiagnoser]
public class EncodingBenchmarks
{
    private readonly ReserveRequest request = SampleData.Reserve("+447700900123");
    private readonly Tariff tariff = new("United Kingdom - Mobile", "447", 1_200_000, 0, 60, 1, SampleData.RatesFrom);
    private readonly string answer = SampleData.EncodedAnswer();
    private readonly string opening = SampleData.EncodedOpeningSettlement();
    private readonly string closing = SampleData.EncodedClosingSettlement();
    private readonly SessionCharging.ScriptSettings scriptSettings = SessionCharging.ScriptSettings.Of(
        new ChargingOptions { ValiditySeconds = 300, SessionRetentionSeconds = 86_400, MaxRequestsPerSession = 1_000, MaxOpenSessionsPerTenant = 10_000 }, 330_000);
    private readonly TenantRecord tenant = new(SampleData.TenantId, "EUR", "Acme", SampleData.RatesFrom, 1, 12, "Europe/London", null, [5_000_000]);

    [Benchmark]
    public string[] NetstringsDecodeAnswer() => Netstrings.Decode(answer);

    [Benchmark]
    public HotAnswer HotAnswerDecode() => HotAnswer.Decode(answer);

    [Benchmark]
    public Settlement SettlementDecodeOpening() => SettlementCodec.Decode(SampleData.TenantId, opening);

    [Benchmark]
    public Settlement SettlementDecodeClosing() => SettlementCodec.Decode(SampleData.TenantId, closing);

    [Benchmark]
    public string FormatMonth() => SettlementCodec.FormatMonth(SampleData.Now);

    [Benchmark]
    public string FingerprintReserve() => RequestFingerprint.Of(
        "Reserve", request.TenantId, request.UserId, Text((int)request.CallType), request.CallingNumber, request.CalledNumber, Text(request.RequestedSeconds));

    [Benchmark]
    public string FingerprintUpdate() => RequestFingerprint.Of("Update", Text(53), Text(300), Text((int)TerminationCause.Unspecified));

    /// <summary>The keys and arguments of reserve.lua, built by SessionCharging's own builder, with a fingerprint computed as it does.</summary>
    [Benchmark]
    public int ReserveScriptArguments()
    {
        var script = SessionCharging.ReserveScript(request, FingerprintReserve(), tariff, CallCoverage.CreditsOnly, SampleData.Now, 300, scriptSettings);
        return script.Arguments.Length + script.Keys.Length;
    }

    /// <summary>The keys and arguments of usage.lua for an Update, by SessionCharging's own builder.</summary>
    [Benchmark]
    public int UsageScriptArguments()
    {
        var script = SessionCharging.UsageScript(
            tenant, request.SessionId, "1", FingerprintUpdate(), 53, 300, terminationCause: null, supervision: string.Empty, SampleData.Now, scriptSettings);
        return script.Arguments.Length + script.Keys.Length;
    }
}
