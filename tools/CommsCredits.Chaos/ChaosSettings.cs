namespace CommsCredits.Chaos;

using System.Globalization;

/// <summary>
/// What a chaos run does, from the environment. Every limit is here, named, with its default: the short mode fits in
/// a CI job (a few minutes), CHAOS_LONG=1 runs for 20 minutes.
/// </summary>
public sealed record ChaosSettings
{
    /// <summary>Seconds of load (with faults) over all runs: CHAOS_SECONDS, default 120 (1200 with CHAOS_LONG=1).</summary>
    public int TotalSeconds { get; init; } = 120;

    /// <summary>Seconds of load in one run, before it settles and is checked: CHAOS_RUN_SECONDS, default 60 (120 long).</summary>
    public int RunSeconds { get; init; } = 60;

    /// <summary>Seconds between two faults (one fault at a time): CHAOS_FAULT_INTERVAL_SECONDS, default 7.</summary>
    public int FaultIntervalSeconds { get; init; } = 7;

    /// <summary>Calls in progress at once (each a loop of calls): CHAOS_CALLS_IN_PARALLEL, default 16.</summary>
    public int CallsInParallel { get; init; } = 16;

    /// <summary>The seed of every random choice (faults, order, call shapes): CHAOS_SEED, default random (printed).</summary>
    public int Seed { get; init; }

    /// <summary>The faults to inject, by name (CHAOS_FAULTS=gateway-kill,redis-flush,...); all of them by default.</summary>
    public IReadOnlyList<FaultKind> Faults { get; init; } = Enum.GetValues<FaultKind>();

    /// <summary>The gateway to run (CHAOS_GATEWAY_DLL); by default the one built next to this tool, same configuration.</summary>
    public string GatewayDll { get; init; } = string.Empty;

    /// <summary>Tenants the calls are spread over.</summary>
    public int TenantCount { get; init; } = 4;

    /// <summary>Funding of each tenant (micros): enough that no call of a run is refused for money.</summary>
    public long FundingMicros { get; init; } = 100_000_000_000;

    /// <summary>How long a client keeps retrying one request (same session and request number) before it gives up the call.</summary>
    public TimeSpan RetryBudget { get; init; } = TimeSpan.FromSeconds(40);

    /// <summary>The deadline of a normal request, and of the short ones some requests get on purpose.</summary>
    public TimeSpan RequestDeadline { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan ShortDeadlineMax { get; init; } = TimeSpan.FromMilliseconds(80);

    /// <summary>Share of requests sent with a short deadline, and sent twice at once to both gateways (percent).</summary>
    public int ShortDeadlinePercent { get; init; } = 5;

    public int DuplicatePercent { get; init; } = 10;

    /// <summary>
    /// Share of calls whose SBC goes silent (a crash) after the Reserve or an Update, never terminating: session
    /// supervision must close them and release their holds (percent).
    /// </summary>
    public int SilentPercent { get; init; } = 3;

    /// <summary>Share of loop iterations that are a Debit event rather than a session (percent).</summary>
    public int DebitEventPercent { get; init; } = 10;

    /// <summary>The gateways' Server:ShutdownTimeoutSeconds, and how much longer a SIGTERMed gateway may take to exit.</summary>
    public int ShutdownTimeoutSeconds { get; init; } = 10;

    public TimeSpan ShutdownMargin { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Charging:ValiditySeconds of the gateways: small, so that session supervision acts within a run's settling.</summary>
    public int ValiditySeconds { get; init; } = 5;

    /// <summary>How long a stalled PostgreSQL stays stopped, and a killed gateway or stopped server stays down.</summary>
    public TimeSpan StallDuration { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan DownDuration { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How much load a redis-stale fault lets through between its snapshot and the restart that loads it.</summary>
    public TimeSpan StaleDuration { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>After the load stops: the longest wait for pending settlements to be swept, and for supervision to close sessions.</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan SupervisionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public static ChaosSettings FromEnvironment()
    {
        var longMode = string.Equals(Environment.GetEnvironmentVariable("CHAOS_LONG"), "1", StringComparison.Ordinal);
        var defaults = new ChaosSettings();
        var settings = defaults with
        {
            TotalSeconds = ToolSetup.WholeNumber("CHAOS_SECONDS", longMode ? 1200 : defaults.TotalSeconds, 10, 86_400),
            RunSeconds = ToolSetup.WholeNumber("CHAOS_RUN_SECONDS", longMode ? 120 : defaults.RunSeconds, 10, 3_600),
            FaultIntervalSeconds = ToolSetup.WholeNumber("CHAOS_FAULT_INTERVAL_SECONDS", defaults.FaultIntervalSeconds, 2, 3_600),
            CallsInParallel = ToolSetup.WholeNumber("CHAOS_CALLS_IN_PARALLEL", defaults.CallsInParallel, 1, 512),
            Seed = ToolSetup.WholeNumber("CHAOS_SEED", Random.Shared.Next(1, int.MaxValue), 0, int.MaxValue),
            Faults = ParseFaults(Environment.GetEnvironmentVariable("CHAOS_FAULTS")),
            GatewayDll = Environment.GetEnvironmentVariable("CHAOS_GATEWAY_DLL") is { Length: > 0 } dll ? dll : ToolSetup.DefaultGatewayDll(),
        };
        if (!File.Exists(settings.GatewayDll))
        {
            throw new ChaosSetupException($"the gateway is not built at {settings.GatewayDll}: run `make build` (or set CHAOS_GATEWAY_DLL)");
        }

        return settings;
    }

    private static FaultKind[] ParseFaults(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Enum.GetValues<FaultKind>();
        }

        var faults = new List<FaultKind>();
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var matches = Enum.GetValues<FaultKind>().Where(candidate => string.Equals(FaultNames.Of(candidate), name, StringComparison.Ordinal)).ToArray();
            if (matches.Length != 1)
            {
                throw new ChaosSetupException($"CHAOS_FAULTS: unknown fault '{name}' (known: {string.Join(',', Enum.GetValues<FaultKind>().Select(FaultNames.Of))})");
            }

            faults.Add(matches[0]);
        }

        return [.. faults];
    }
}
