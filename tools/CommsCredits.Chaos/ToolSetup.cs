namespace CommsCredits.Chaos;

using System.Globalization;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Grpc.Client;

/// <summary>What the chaos and bench tools both need: bounded settings from the environment, the gateway's build, and tenants created through the admin API.</summary>
public static class ToolSetup
{
    /// <summary>A whole number from the environment variable, or <paramref name="fallback"/> when it is unset; out of range fails with the variable named.</summary>
    public static int WholeNumber(string variable, int fallback, int minimum, int maximum)
    {
        var text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < minimum || value > maximum)
        {
            throw new ChaosSetupException(string.Create(CultureInfo.InvariantCulture, $"{variable} must be a whole number from {minimum} to {maximum} (got '{text}')"));
        }

        return value;
    }

    /// <summary>The gateway built alongside the running tool: tools/&lt;tool&gt;/bin/&lt;configuration&gt;/net10.0/ gives the configuration.</summary>
    public static string DefaultGatewayDll()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent?.Name ?? "Release";
        var root = output.Parent?.Parent?.Parent?.Parent?.Parent?.FullName ?? ".";
        return Path.Combine(root, "src", "CommsCredits.Gateway", "bin", configuration, "net10.0", "CommsCredits.Gateway.dll");
    }

    /// <summary>
    /// Creates tenants "&lt;prefix&gt;-1" ... in EUR, each with the users (licensed, pay as you go), the <see cref="Tariff"/>
    /// rates for every call type given, and <paramref name="fundingMicros"/> added once (idempotency key "&lt;prefix&gt;-&lt;tenant&gt;").
    /// </summary>
    public static async Task<IReadOnlyList<string>> CreateTenantsAsync(
        GrpcChannel channel, string adminKey, string prefix, int count, IReadOnlyList<string> users, IReadOnlyList<CallType> callTypes, long fundingMicros, CancellationToken cancellationToken)
    {
        var accounts = new AccountsClient(channel, adminKey);
        var directory = new DirectoryClient(channel, adminKey);
        var tenants = new List<string>();
        for (var index = 0; index < count; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var tenantId = prefix + "-" + (index + 1).ToString(CultureInfo.InvariantCulture);
            await accounts.CreateTenantAsync(new CreateTenantRequest { TenantId = tenantId, Currency = "EUR", DisplayName = prefix + " " + tenantId });
            foreach (var user in users)
            {
                await directory.PutUserAsync(new PutUserRequest
                {
                    TenantId = tenantId, UserId = user, Upn = user, DisplayName = user, LocationCountry = "GB", CommunicationsCreditsLicence = true,
                    CallingPlan = CallingPlan.PayAsYouGo,
                });
            }

            var import = new ImportRatesRequest { TenantId = tenantId };
            foreach (var callType in callTypes)
            {
                import.Rows.AddRange(Tariff.All.Select(tariff =>
                {
                    var row = tariff.ToRow();
                    row.CallType = callType;
                    return row;
                }));
            }

            await accounts.ImportRatesAsync(import);
            await accounts.AddFundsAsync(new AddFundsRequest
            {
                TenantId = tenantId, Amount = new Money { AmountMicros = fundingMicros, Currency = "EUR" }, IdempotencyKey = prefix + "-" + tenantId,
            });
            tenants.Add(tenantId);
        }

        return tenants;
    }
}
