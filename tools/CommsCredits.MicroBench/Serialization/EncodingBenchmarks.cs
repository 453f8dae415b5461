namespace CommsCredits.MicroBench.Serialization;

using BenchmarkDotNet.Attributes;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Ledger;
using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
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

    /// <summary>
    /// The keys and arguments of reserve.lua, built from the same pieces and in the same shape as
    /// SessionCharging.ReserveAsync (whose arrays are local to it), with a fingerprint computed as it does.
    /// </summary>
    [Benchmark]
    public int ReserveScriptArguments()
    {
        var now = SampleData.Now;
        var fingerprint = FingerprintReserve();
        string[] arguments =
        [
            fingerprint, Milliseconds(now), Text(300), Text(300), Text(MoneyLimits.MaxSessionSeconds),
            .. TariffArguments(tariff),
            Text((int)request.CallType), request.UserId, request.CallingNumber, request.CalledNumber, tariff.DestinationName, tariff.Prefix,
            Milliseconds(tariff.EffectiveFrom), request.SessionId, Text(86_400), .. CallCoverage.CreditsOnly.Arguments(now),
            Text(330_000), Text(10_000),
        ];
        string[] keys =
        [
            HotStateKeys.Account(request.TenantId), HotStateKeys.Session(request.TenantId, request.SessionId), HotStateKeys.Lots(request.TenantId),
            HotStateKeys.LotExpiry(request.TenantId), HotStateKeys.SessionDeadlines(request.TenantId), HotStateKeys.Pending(request.TenantId),
        ];
        return arguments.Length + keys.Length;
    }

    /// <summary>The keys and arguments of usage.lua for an Update, in the shape of SessionCharging.RunUsageAsync.</summary>
    [Benchmark]
    public int UsageScriptArguments()
    {
        var now = SampleData.Now;
        var tenantId = request.TenantId;
        var sessionId = request.SessionId;
        var fingerprint = FingerprintUpdate();
        string[] arguments =
        [
            Text(1), fingerprint, Milliseconds(now), Text(53), Text(300),
            Text(300), Text(MoneyLimits.MaxSessionSeconds), "0", Text((int)TerminationCause.Unspecified),
            Text(86_400), Text(1_000), SettlementCodec.FormatMonth(now), string.Empty, "5000000", Text(330_000), string.Empty, sessionId,
        ];
        string[] keys =
        [
            HotStateKeys.Account(tenantId), HotStateKeys.Session(tenantId, sessionId), HotStateKeys.Pending(tenantId), HotStateKeys.Lots(tenantId),
            HotStateKeys.LotExpiry(tenantId), HotStateKeys.SessionDeadlines(tenantId),
        ];
        return arguments.Length + keys.Length;
    }
}
