namespace CommsCredits.Tests.Charging;

using System.Diagnostics;
using System.Globalization;
using System.Text;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;
using CommsCredits.Grpc.Protocol;
using Dapper;
using Google.Protobuf;
using Npgsql;
using Shouldly;
using Xunit;
using Xunit.Abstractions;
using static CommsCredits.Tests.Charging.Calls;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>ImportRateCsv end to end: rate files uploaded in chunks by our client to a real gateway.</summary>
public sealed class RateCsvImportTests(ITestOutputHelper output)
{
    private const string ImportRateCsvMethod = "/commscredits.v1.Accounts/ImportRateCsv";

    [Fact]
    public async Task A_good_file_imports_and_its_rates_price_calls()
    {
        // Proves the whole path: a file with quoting, CRLF, a BOM, an offset time and a version not yet in force is
        // stored, and PriceEnquiry then prices with its rates (the longest prefix in force, the toll-free table on
        // the calling number) to the micro-unit.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        var file = "\uFEFF" + RateCsvReader.Header + "\r\n"
            + "outbound_pstn,44,\"United Kingdom, fixed\",0.06,0.01,60/1,2020-01-01T01:00:00+01:00\r\n"
            + "outbound_pstn,+4420,London,0.025,0,1/1,2020-01-01T00:00:00Z\r\n"
            + "outbound_pstn,4420,London,0.001,0,1/1,2099-01-01T00:00:00Z\r\n"
            + "toll_free_inbound,1,\"North America \"\"NANP\"\"\",0.012345,0,30/6,2020-01-01T00:00:00Z\r\n";

        var response = await gateway.Accounts.ImportRateCsvAsync(tenant, Utf8(file));

        response.ImportedRows.ShouldBe(4u);
        (await RatesRevisionAsync(gateway, tenant)).ShouldBe(response.Revision);
        var london = await gateway.Charging.PriceEnquiryAsync(Enquiry(tenant, CallType.OutboundPstn, UkFixed, 61));
        london.Rate.Prefix.ShouldBe("4420");
        london.Cost.AmountMicros.ShouldBe(25_417);
        var mobile = await gateway.Charging.PriceEnquiryAsync(Enquiry(tenant, CallType.OutboundPstn, "+447700900123", 61));
        mobile.Cost.AmountMicros.ShouldBe(10_000 + 61_000);
        var tollFree = await gateway.Charging.PriceEnquiryAsync(
            new PriceEnquiryRequest { TenantId = tenant, CallType = CallType.TollFreeInbound, CallingNumber = Caller, CalledNumber = "+18005550100", Seconds = 37 });
        tollFree.BilledSeconds.ShouldBe(42u);
        tollFree.Cost.AmountMicros.ShouldBe(8_642);
        tollFree.Rate.DestinationName.ShouldBe("North America \"NANP\"");
        NoImportErrorsLogged(gateway);
    }

    [Fact]
    public async Task A_rate_import_with_one_bad_line_is_rejected_whole_naming_the_line()
    {
        // Proves the acceptance test of the issue: line 4 of 6 has a prefix with a letter; the call fails with
        // INVALID_ARGUMENT "line 4: prefix: ...", no rate of the file is stored, the revision is unchanged, and
        // calls are still priced with the rates from before.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0, Rate("44", 60_000));
        var revisionBefore = await RatesRevisionAsync(gateway, tenant);
        var file = RateCsvReader.Header + "\n"
            + "outbound_pstn,44,United Kingdom,0.01,0,60/1,2020-01-01T00:00:00Z\n"
            + "outbound_pstn,33,France,0.02,0,60/1,2020-01-01T00:00:00Z\n"
            + "outbound_pstn,4x,Broken,0.03,0,60/1,2020-01-01T00:00:00Z\n"
            + "outbound_pstn,49,Germany,0.04,0,60/1,2020-01-01T00:00:00Z\n"
            + "outbound_pstn,39,Italy,0.05,0,60/1,2020-01-01T00:00:00Z\n";

        var error = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.ImportRateCsvAsync(tenant, Utf8(file)));

        error.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        error.Status.Detail.ShouldBe("line 4: prefix: must hold digits only, without '+' or separators");
        (await RatesRevisionAsync(gateway, tenant)).ShouldBe(revisionBefore);
        (await StoredPrefixesAsync(gateway, tenant)).ShouldBe(["44"]);
        (await gateway.Charging.PriceEnquiryAsync(Enquiry(tenant, CallType.OutboundPstn, UkFixed, 60))).Cost.AmountMicros.ShouldBe(60_000);
        (await gateway.Charging.PriceEnquiryAsync(Enquiry(tenant, CallType.OutboundPstn, "+33140000000", 60))).ResultCode.ShouldBe(ResultCode.RatingFailed);
        NoImportErrorsLogged(gateway);
    }

    [Fact]
    public async Task A_repeated_line_is_refused_naming_both_lines()
    {
        // Proves the whole-file rule goes through the same validator as ImportRates and is reported in lines: the
        // same call type, prefix and instant (written with another offset) on lines 2 and 4.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        var file = RateCsvReader.Header + "\n"
            + "outbound_pstn,44,United Kingdom,0.01,0,60/1,2026-01-01T00:00:00Z\n"
            + "conference_dial_out,44,United Kingdom,0.01,0,60/1,2026-01-01T00:00:00Z\n"
            + "outbound_pstn,44,United Kingdom,0.02,0,60/1,2026-01-01T02:00:00+02:00\n";

        var error = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.ImportRateCsvAsync(tenant, Utf8(file)));

        error.StatusCode.ShouldBe(StatusCode.InvalidArgument);
        error.Status.Detail.ShouldBe("line 4: record: repeats line 2: same call_type, prefix and effective_from");
        (await StoredPrefixesAsync(gateway, tenant)).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_file_of_20000_rows_in_small_chunks_arrives_whole_with_progress()
    {
        // Proves chunking: 20,000 rows sent in 4 KiB chunks (several hundred messages, chunk borders inside lines and
        // characters) are all stored, the progress reports grow to the file's size, and a row from the middle prices.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        var file = Encoding.UTF8.GetBytes(RateFile(20_000));
        var progress = new RecordingProgress();

        var response = await gateway.Accounts.ImportRateCsvAsync(tenant, new MemoryStream(file), progress, chunkBytes: 4_096);

        response.ImportedRows.ShouldBe(20_000u);
        progress.Reports.Count.ShouldBe((file.Length + 4_095) / 4_096);
        progress.Reports.ShouldBeInOrder(SortDirection.Ascending);
        progress.Reports[^1].ShouldBe(file.Length);
        (await StoredPrefixesAsync(gateway, tenant)).Count.ShouldBe(20_000);
        var middle = await gateway.Charging.PriceEnquiryAsync(Enquiry(tenant, CallType.OutboundPstn, "+" + Prefix(12_345) + "0000", 60));
        middle.Rate.Prefix.ShouldBe(Prefix(12_345));
        middle.Cost.AmountMicros.ShouldBe(RateMicros(12_345));
    }

    [Fact]
    public async Task A_file_of_100000_rows_imports_and_one_row_more_is_refused()
    {
        // Proves the row limit at its edge through the RPC: 100,000 rows are stored; 100,001 are refused on the line
        // of the row beyond the limit. Prints how long the 100,000-row upload and import took (a measurement, not
        // an assertion).
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        var file = Encoding.UTF8.GetBytes(RateFile(RateRowValidator.MaxRowsPerImport));

        var stopwatch = Stopwatch.StartNew();
        var response = await gateway.Accounts.ImportRateCsvAsync(tenant, new MemoryStream(file));
        stopwatch.Stop();

        response.ImportedRows.ShouldBe(100_000u);
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"ImportRateCsv of 100,000 rows ({file.Length:N0} bytes, 256 KiB chunks): {stopwatch.ElapsedMilliseconds} ms"));
        var tooMany = Encoding.UTF8.GetBytes(RateFile(RateRowValidator.MaxRowsPerImport + 1));
        var error = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.ImportRateCsvAsync(tenant, new MemoryStream(tooMany)));
        error.Status.Detail.ShouldBe("line 100002: file: holds more than 100000 rate rows");
        (await RatesRevisionAsync(gateway, tenant)).ShouldBe(response.Revision);
    }

    [Fact]
    public async Task A_file_over_the_size_limit_is_refused_as_its_chunks_arrive()
    {
        // Proves Accounts:MaxRateCsvBytes: on a gateway allowing 8 KiB, a valid 20 KiB file is refused with
        // RESOURCE_EXHAUSTED naming the setting once a chunk passes the limit, and nothing is stored; a file at the
        // limit is accepted.
        await using var gateway = await GatewayInstance.StartAsync(null, "--Accounts:MaxRateCsvBytes=8192");
        var tenant = await gateway.CreateTenantAsync(0);
        var large = Encoding.UTF8.GetBytes(RateFile(300));
        large.Length.ShouldBeGreaterThan(16_384);

        var error = await Should.ThrowAsync<RpcException>(() => gateway.Accounts.ImportRateCsvAsync(tenant, new MemoryStream(large), chunkBytes: 1_024));

        error.StatusCode.ShouldBe(StatusCode.ResourceExhausted);
        error.Status.Detail.ShouldContain("Accounts:MaxRateCsvBytes (8192 bytes)");
        (await StoredPrefixesAsync(gateway, tenant)).ShouldBeEmpty();
        var atLimit = FileOfExactly(8_192);
        atLimit.Length.ShouldBe(8_192);
        (await gateway.Accounts.ImportRateCsvAsync(tenant, new MemoryStream(atLimit))).ImportedRows.ShouldBeGreaterThan(0u);
        gateway.Errors.Entries.ShouldBeEmpty();
    }

    [Fact]
    public async Task Chunks_that_break_the_upload_rules_are_refused_naming_the_field()
    {
        // Proves the rules of RateCsvChunk, each refused without storing anything: tenant_id missing from the first
        // chunk, an unknown tenant (NOT_FOUND), another tenant_id in a later chunk, an empty later chunk, a chunk
        // over 1 MiB, no chunk at all, and an empty file.
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(0);
        var header = ByteString.CopyFromUtf8(RateCsvReader.Header + "\n");

        await ShouldRefuseAsync(gateway, StatusCode.InvalidArgument, "tenant_id must be", new RateCsvChunk { Data = header });
        await ShouldRefuseAsync(gateway, StatusCode.NotFound, "tenant 'nobody-here' does not exist", new RateCsvChunk { TenantId = "nobody-here", Data = header });
        await ShouldRefuseAsync(
            gateway, StatusCode.InvalidArgument, "tenant_id of chunk 2 differs from the first chunk's",
            new RateCsvChunk { TenantId = tenant, Data = header }, new RateCsvChunk { TenantId = "other", Data = header });
        await ShouldRefuseAsync(
            gateway, StatusCode.InvalidArgument, "data of chunk 2 is empty",
            new RateCsvChunk { TenantId = tenant }, new RateCsvChunk());
        await ShouldRefuseAsync(
            gateway, StatusCode.InvalidArgument, "data of chunk 1 holds 1048577 bytes; a chunk holds at most 1048576",
            new RateCsvChunk { TenantId = tenant, Data = ByteString.CopyFrom(new byte[AccountsClient.MaxRateCsvChunkBytes + 1]) });
        await ShouldRefuseAsync(gateway, StatusCode.InvalidArgument, "the request stream held no chunk");
        await ShouldRefuseAsync(gateway, StatusCode.InvalidArgument, "line 1: header: is missing: the file is empty", new RateCsvChunk { TenantId = tenant });
        (await RatesRevisionAsync(gateway, tenant)).ShouldBe(0);
        NoImportErrorsLogged(gateway);
    }

    internal static string RateFile(int rows)
    {
        var file = new StringBuilder(RateCsvReader.Header).Append('\n');
        for (var index = 0; index < rows; index++)
        {
            file.Append(CultureInfo.InvariantCulture, $"outbound_pstn,{Prefix(index)},\"Destination {index}, été\",{RateMicros(index) / 1_000_000m:0.######},0,60/1,2020-01-01T00:00:00Z\n");
        }

        return file.ToString();
    }

    private static string Prefix(int index) => "9" + index.ToString("D6", CultureInfo.InvariantCulture);

    private static long RateMicros(int index) => 1_000 + (index * 7L);

    private static MemoryStream Utf8(string text) => new(Encoding.UTF8.GetBytes(text));

    private static PriceEnquiryRequest Enquiry(string tenant, CallType callType, string called, uint seconds) =>
        new() { TenantId = tenant, CallType = callType, CallingNumber = Caller, CalledNumber = called, Seconds = seconds };

    /// <summary>A valid rate file of exactly <paramref name="bytes"/> bytes (ASCII): the last line's name is padded to fit.</summary>
    private static byte[] FileOfExactly(int bytes)
    {
        static string Line(int index, string name) => $"outbound_pstn,{Prefix(index)},{name},0.01,0,60/1,2020-01-01T00:00:00Z\n";
        var file = new StringBuilder(RateCsvReader.Header).Append('\n');
        for (var index = 0; ; index++)
        {
            var line = Line(index, "N");
            var remaining = bytes - file.Length;
            if (remaining < 2 * line.Length)
            {
                file.Append(Line(index, new string('N', 1 + remaining - line.Length)));
                return Encoding.ASCII.GetBytes(file.ToString());
            }

            file.Append(line);
        }
    }

    private static async Task ShouldRefuseAsync(GatewayInstance gateway, StatusCode code, string detail, params RateCsvChunk[] chunks)
    {
        var options = new CommsCredits.Grpc.Client.CallOptions(Headers: new Metadata().Add("authorization", "Bearer " + gateway.AdminKey));
        using var call = gateway.Channel.ClientStreaming<RateCsvChunk, ImportRatesResponse>(ImportRateCsvMethod, options);
        var error = await Should.ThrowAsync<RpcException>(async () =>
        {
            foreach (var chunk in chunks)
            {
                await call.WriteAsync(chunk);
            }

            await call.CompleteAsync();
            await call.ResponseAsync;
        });
        error.StatusCode.ShouldBe(code);
        error.Status.Detail.ShouldContain(detail);
    }

    private static void NoImportErrorsLogged(GatewayInstance gateway) =>
        gateway.Errors.Entries.ShouldNotContain(entry => entry.Contains("ImportRateCsv", StringComparison.Ordinal));

    private static async Task<long> RatesRevisionAsync(GatewayInstance gateway, string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return await connection.ExecuteScalarAsync<long>("SELECT rates_revision FROM tenants WHERE tenant_id = @tenant", new { tenant });
    }

    private static async Task<List<string>> StoredPrefixesAsync(GatewayInstance gateway, string tenant)
    {
        await using var connection = new NpgsqlConnection(gateway.PostgresConnectionString);
        return (await connection.QueryAsync<string>("SELECT prefix FROM rates WHERE tenant_id = @tenant ORDER BY prefix", new { tenant })).ToList();
    }

    /// <summary>Records reports as they are made (Progress&lt;T&gt; would post them to a synchronization context).</summary>
    private sealed class RecordingProgress : IProgress<long>
    {
        public List<long> Reports { get; } = [];

        public void Report(long value) => Reports.Add(value);
    }
}
