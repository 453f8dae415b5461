// `make bench`: the load generator (docs/scaling.md). Starts Redis, PostgreSQL and one gateway on loopback, measures
// the raw ceilings of this machine, then drives full calls and Reserve alone, and prints throughput, latency
// percentiles, memory and allocations, the figures as ratios of the ceilings, and one last line:
//   bench: reserve_rps=N call_rps=N reserve_p99_ms=X terminate_p99_ms=X redis_ceiling_rps=N
using System.Globalization;
using CommsCredits.Bench;
using CommsCredits.Chaos;

try
{
    return await RunAsync();
}
catch (ChaosSetupException exception)
{
    // Bad settings, a server that would not start, a missing ceiling tool: not a finding about the gateway.
    Console.Error.WriteLine("bench: " + exception.Message);
    return 2;
}

async Task<int> RunAsync()
{
    var settings = BenchSettings.FromEnvironment();
    if (!File.Exists(settings.GatewayDll))
    {
        throw new ChaosSetupException($"the gateway is not built: {settings.GatewayDll} is missing (make build)");
    }

    using var stopping = new CancellationTokenSource();
    Console.CancelKeyPress += (_, args) =>
    {
        args.Cancel = true;
        stopping.Cancel();
    };

    Line($"bench: {settings.Seconds} s per phase after {settings.WarmupSeconds} s of warm-up; {settings.Tenants} tenants, {settings.Gateways} gateway{(settings.Gateways == 1 ? string.Empty : "s")}, {settings.Connections} connections, "
        + $"{settings.Concurrency} in flight when as fast as possible, {settings.RetryPercent} % retried, {settings.ConferencePercent} % conference dial-outs; {Environment.ProcessorCount} cores");
    await using var stack = await BenchStack.StartAsync(settings, stopping.Token);
    Line($"bench: stack up: redis {stack.Redis.Configuration}, postgres port {stack.Postgres.Port}, gateway ports {string.Join(", ", stack.Gateways.Select(gateway => gateway.Port))}, logs in {stack.Directory}");

    CeilingResult? ceilings = null;
    if (settings.MeasureCeilings)
    {
        ceilings = await Ceilings.MeasureAsync(stack.Redis.Port, stack.LedgerConnectionString, settings.Seconds, stopping.Token);
        Line(string.Create(CultureInfo.InvariantCulture,
            $"ceiling: redis-benchmark EVALSHA of a Reserve-like script, 50 clients: {ceilings.RedisScriptRps:0}/s, pipelined 16 deep: {ceilings.RedisScriptPipelinedRps:0}/s"));
        Line(string.Create(CultureInfo.InvariantCulture,
            $"ceiling: redis-benchmark EVALSHA of the gateway's own reserve.lua, a new session each call, 50 clients: {ceilings.ReserveScriptRps:0}/s, {ceilings.ReserveScriptMicroseconds:0.0} µs of Redis per call"));
        Line(string.Create(CultureInfo.InvariantCulture,
            $"ceiling: pgbench INSERT, 8 clients, fsync on: {ceilings.PostgresCommitsPerSecond:0} commits/s of one row, {ceilings.PostgresBatchedRowsPerSecond:0} rows/s in 64-row transactions"));
    }

    // The gateway's histograms whose sums and counts each phase reads: its time per request, per Redis round trip, per
    // PostgreSQL operation, and the settlements per ledger batch.
    (string Series, string Histogram)[] gatewayTimeSeries =
    [
        ("grpc", "commscredits_grpc_request_duration_seconds"),
        ("redis", "commscredits_redis_operation_duration_seconds"),
        ("postgres", "commscredits_postgres_operation_duration_seconds"),
        ("batch size", "commscredits_settlement_batch_size"),
    ];
    var workloads = new Workloads(settings, stack.TenantIds, stack.Clients);
    MeasuredPhase? calls = null, reserveMax = null, reserveAtRate = null;
    if (settings.Phases.Contains("calls", StringComparer.Ordinal))
    {
        calls = settings.CallRate > 0
            ? await MeasuredAsync(() => LoadDriver.AtFixedRateAsync("calls", settings, settings.CallRate, workloads.CallAsync))
            : await MeasuredAsync(() => LoadDriver.AsFastAsPossibleAsync("calls", settings, workloads.CallAsync));
        Report(calls);
    }

    double? reserveMaxRps = null;
    if (settings.Phases.Contains("reserve", StringComparer.Ordinal))
    {
        reserveMax = await MeasuredAsync(() => LoadDriver.AsFastAsPossibleAsync("reserve", settings, workloads.ReserveAsync));
        Report(reserveMax);
        reserveMaxRps = reserveMax.Result.Recorders.Reserve.Count / reserveMax.Result.Seconds;
    }

    if (settings.Phases.Contains("reserve-at-rate", StringComparer.Ordinal))
    {
        var fixedRate = settings.ReserveRate > 0 ? settings.ReserveRate : Math.Max(1, Math.Floor(reserveMaxRps!.Value / 2));
        reserveAtRate = await MeasuredAsync(() => LoadDriver.AtFixedRateAsync("reserve-at-rate", settings, fixedRate, workloads.ReserveAsync));
        Report(reserveAtRate);
    }

    if (ceilings is not null && reserveMaxRps is { } reserveRps)
    {
        Line(string.Create(CultureInfo.InvariantCulture,
            $"ratio: Reserve {reserveRps:0}/s is {reserveRps / ceilings.ReserveScriptRps:0.000} of the gateway's reserve.lua alone in Redis, {reserveRps / ceilings.RedisScriptRps:0.000} of the Reserve-like script's EVALSHA and {reserveRps / ceilings.RedisScriptPipelinedRps:0.000} of it pipelined"));
    }

    if (ceilings is not null && calls is not null)
    {
        var durableDebitsPerSecond = (calls.Result.Recorders.Update.Count + calls.Result.Recorders.Terminate.Count) / calls.Result.Seconds;
        Line(string.Create(CultureInfo.InvariantCulture,
            $"ratio: {durableDebitsPerSecond:0} durable debits/s (Updates and Terminates) are {durableDebitsPerSecond / ceilings.PostgresCommitsPerSecond:0.000} of pgbench's one-row commits/s and {durableDebitsPerSecond / ceilings.PostgresBatchedRowsPerSecond:0.000} of its batched rows/s"));
    }

    MeasuredPhase?[] phases = [calls, reserveMax, reserveAtRate];
    var failures = phases.OfType<MeasuredPhase>().Sum(phase => phase.Result.Recorders.All.Sum(recorder => recorder.Failures));
    // A figure whose phase did not run (BENCH_PHASES) or ceiling was not measured (BENCH_CEILINGS=0) is n/a, never 0.
    var callRps = calls is null ? "n/a" : Figure(calls.Result.Recorders.CompletedCalls / calls.Result.Seconds, "0");
    var reserveP99 = reserveAtRate is null ? "n/a" : Figure(LatencyRecorder.Percentile(reserveAtRate.Result.Recorders.Reserve.SortedMilliseconds(), 99), "0.00");
    var terminateP99 = calls is null ? "n/a" : Figure(LatencyRecorder.Percentile(calls.Result.Recorders.Terminate.SortedMilliseconds(), 99), "0.00");
    var ceiling = ceilings is null ? "n/a" : Figure(ceilings.RedisScriptPipelinedRps, "0");
    Line($"bench: reserve_rps={(reserveMaxRps is { } rps ? Figure(rps, "0") : "n/a")} call_rps={callRps} reserve_p99_ms={reserveP99} terminate_p99_ms={terminateP99} redis_ceiling_rps={ceiling}");
    return failures == 0 ? 0 : 1;

    // Runs a phase while sampling the gateway's memory every second and its allocation and request counters around it.
    async Task<MeasuredPhase> MeasuredAsync(Func<Task<PhaseResult>> phase)
    {
        var allocatedBefore = await stack.GatewayMetricAsync("dotnet_gc_allocated_bytes_total", stopping.Token);
        var requestsBefore = await stack.GatewayMetricSumsAsync("commscredits_grpc_requests_total", stopping.Token);
        var redisBefore = await stack.RedisCommandStatsAsync(stopping.Token);
        var timesBefore = await GatewayTimesAsync();
        var (gatewayCpuBefore, redisCpuBefore, postgresCpuBefore, ownCpuBefore) = (stack.GatewayCpuSeconds(), await stack.RedisCpuSecondsAsync(stopping.Token), stack.PostgresCpuSeconds(), Environment.CpuUsage.TotalTime.TotalSeconds);
        var memory = new List<long> { stack.GatewayMemoryBytes("VmRSS") };
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            while (await timer.WaitForNextTickAsync(sampling.Token).ConfigureAwait(false))
            {
                lock (memory)
                {
                    memory.Add(stack.GatewayMemoryBytes("VmRSS"));
                }
            }
        });
        var result = await phase();
        await sampling.CancelAsync();
        await Task.WhenAny(sampler);
        var allocated = await stack.GatewayMetricAsync("dotnet_gc_allocated_bytes_total", stopping.Token) - allocatedBefore;
        var requestsEach = (await stack.GatewayMetricSumsAsync("commscredits_grpc_requests_total", stopping.Token)).Select((after, index) => after - requestsBefore[index]).ToList();
        var requests = requestsEach.Sum();
        var timesAfter = await GatewayTimesAsync();
        var gatewayTimes = timesAfter
            .SelectMany((histogram, index) => histogram.Select(pair => new GatewayTime(
                gatewayTimeSeries[index].Series, pair.Key, pair.Value.Count - timesBefore[index].GetValueOrDefault(pair.Key).Count, pair.Value.Sum - timesBefore[index].GetValueOrDefault(pair.Key).Sum)))
            .Where(time => time.Count > 0)
            .ToList();
        var (gatewayCpu, redisCpu, postgresCpu, ownCpu) = (
            stack.GatewayCpuSeconds() - gatewayCpuBefore, await stack.RedisCpuSecondsAsync(stopping.Token) - redisCpuBefore, stack.PostgresCpuSeconds() - postgresCpuBefore,
            Environment.CpuUsage.TotalTime.TotalSeconds - ownCpuBefore);
        var redis = (await stack.RedisCommandStatsAsync(stopping.Token))
            .Select(pair => (Command: pair.Key, Calls: pair.Value.Calls - redisBefore.GetValueOrDefault(pair.Key).Calls, Microseconds: pair.Value.Microseconds - redisBefore.GetValueOrDefault(pair.Key).Microseconds))
            .Where(command => command.Calls > 0 && !string.Equals(command.Command, "info", StringComparison.Ordinal))
            .OrderByDescending(command => command.Microseconds)
            .ToList();
        lock (memory)
        {
            // One sample a second from the start of the warm-up: every 60th is the RSS at each minute.
            var eachMinute = memory.Where((_, index) => index % 60 == 0).Append(memory[^1]).ToList();
            return new MeasuredPhase(result, memory[0], memory.Max(), memory[^1], requests > 0 ? allocated / requests : 0, requests, requestsEach, gatewayCpu, redisCpu, postgresCpu, ownCpu, redis, eachMinute, gatewayTimes);
        }
    }

    Task<IReadOnlyDictionary<string, (double Sum, double Count)>[]> GatewayTimesAsync() =>
        stack.GatewayHistogramsAsync([.. gatewayTimeSeries.Select(series => series.Histogram)], stopping.Token);

    void Report(MeasuredPhase measured)
    {
        var phase = measured.Result;
        var mode = phase.FixedRate is { } rate ? string.Create(CultureInfo.InvariantCulture, $"fixed rate {rate:0}/s, latency from the intended start") : $"as fast as possible, {settings.Concurrency} in flight";
        var requests = phase.Recorders.All.Sum(recorder => recorder.Count);
        Line(string.Create(CultureInfo.InvariantCulture,
            $"phase {phase.Name} ({mode}): {phase.Seconds:0.0} s, {phase.Operations} operations, {requests / phase.Seconds:0} requests/s, {phase.Recorders.CompletedCalls / phase.Seconds:0} calls/s, {phase.Dropped} dropped"));
        Line("  method        count   req/s    p50 ms   p90 ms   p99 ms  p99.9 ms   max ms  failures");
        foreach (var recorder in phase.Recorders.All.Where(recorder => recorder.Count > 0 || recorder.Failures > 0))
        {
            var sorted = recorder.SortedMilliseconds();
            Line(string.Create(CultureInfo.InvariantCulture,
                $"  {recorder.Method,-10} {recorder.Count,8} {recorder.Count / phase.Seconds,7:0} {LatencyRecorder.Percentile(sorted, 50),9:0.000} {LatencyRecorder.Percentile(sorted, 90),8:0.000} {LatencyRecorder.Percentile(sorted, 99),8:0.000} {LatencyRecorder.Percentile(sorted, 99.9),9:0.000} {(sorted.Length > 0 ? sorted[^1] : 0),8:0.000} {recorder.Failures,9}"));

            foreach (var reason in recorder.FailureReasons)
            {
                Line($"    failed: {reason}");
            }
        }

        Line(string.Create(CultureInfo.InvariantCulture,
            $"  gateway memory: RSS {measured.RssStart / 1048576.0:0.0} MB at the start, {measured.RssMax / 1048576.0:0.0} MB at most, {measured.RssEnd / 1048576.0:0.0} MB at the end; {measured.AllocatedBytesPerRequest / 1024:0.0} KB allocated per gRPC request"));
        if (phase.FixedRate is not null && phase.Recorders.StartLag.Count > 0)
        {
            var lag = phase.Recorders.StartLag.SortedMilliseconds();
            var early = lag.Count(value => value < 0);
            Line(string.Create(CultureInfo.InvariantCulture,
                $"  load generator: each operation began {LatencyRecorder.Percentile(lag, 50):0.000} ms (p50), {LatencyRecorder.Percentile(lag, 99):0.000} ms (p99), {lag[^1]:0.000} ms (max) after its intended start, which the latencies above include; {early} began early{(early > 0 ? string.Create(CultureInfo.InvariantCulture, $", by at most {-lag[0]:0.000} ms") : string.Empty)}"));
        }

        if (measured.RequestsEachGateway.Count > 1)
        {
            Line("  gRPC requests each gateway: " + string.Join(", ", measured.RequestsEachGateway.Select(count => Figure(count, "0"))));
        }

        if (measured.RssEachMinute.Count > 2)
        {
            Line("  gateway RSS each minute, MB: " + string.Join(" ", measured.RssEachMinute.Select(bytes => Figure(bytes / 1048576.0, "0.0"))));
        }

        if (measured.GatewayRequests > 0)
        {
            var perRequest = measured.RedisCommands.Sum(command => command.Calls) / measured.GatewayRequests;
            var busiest = string.Join(", ", measured.RedisCommands.Take(4).Select(command => string.Create(CultureInfo.InvariantCulture,
                $"{command.Command} {command.Calls / measured.GatewayRequests:0.00}/request {(double)command.Microseconds / command.Calls:0.0} µs each")));
            Line(string.Create(CultureInfo.InvariantCulture,
                $"  cpu per gRPC request (warm-up included): gateway {measured.GatewayCpuSeconds * 1e6 / measured.GatewayRequests:0} µs, redis {measured.RedisCpuSeconds * 1e6 / measured.GatewayRequests:0} µs, postgres {measured.PostgresCpuSeconds * 1e6 / measured.GatewayRequests:0} µs, load generator {measured.LoadGeneratorCpuSeconds * 1e6 / measured.GatewayRequests:0} µs"));
            Line(GatewayTimesLine(measured));
            Line(string.Create(CultureInfo.InvariantCulture,
                $"  redis: {perRequest:0.00} commands per gRPC request (a script's own commands counted too, and in its time); busiest: {busiest}"));
        }
    }
}

// The gateway's own time for each request (from a request's arrival to its status), for each Redis round trip and each
// PostgreSQL operation, as means over the phase: what of a request's latency is spent where, and what is outside the gateway.
static string GatewayTimesLine(MeasuredPhase measured)
{
    var times = measured.GatewayTimes;
    var methods = times.Where(time => string.Equals(time.Series, "grpc", StringComparison.Ordinal) && time.Label.StartsWith("/commscredits.v1.Charging/", StringComparison.Ordinal))
        .Select(time => string.Create(CultureInfo.InvariantCulture, $"{time.Label[(time.Label.LastIndexOf('/') + 1)..]} {time.MeanMilliseconds:0.000}"));
    var storage = times.Where(time => time.Series is "redis" or "postgres").OrderByDescending(time => time.Sum).Take(4)
        .Select(time => string.Create(CultureInfo.InvariantCulture, $"{time.Series} {time.Label} {time.MeanMilliseconds:0.000} ({time.Count / measured.GatewayRequests:0.00}/request)"));
    var batch = times.FirstOrDefault(time => string.Equals(time.Series, "batch size", StringComparison.Ordinal));
    var perBatch = batch is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"; {batch.Sum / batch.Count:0.0} settlements per ledger batch");
    return $"  inside the gateway, mean ms from its /metrics: {string.Join(", ", methods)}; of that, {string.Join(", ", storage)}{perBatch}";
}

static void Line(string text) => Console.WriteLine(text);

static string Figure(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
