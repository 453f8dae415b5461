namespace CommsCredits.Gateway.Hosting;

using System.Globalization;
using System.Text;
using CommsCredits.Gateway.Credentials;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

/// <summary>
/// create-key, revoke-key and list-keys. A new key goes to standard output alone (so a script can capture it), once:
/// only its hash is stored. Nothing else ever prints a key or a secret.
/// </summary>
public static class KeyCommands
{
    public const int DefaultListLimit = 1_000;

    public static async Task<int> CreateAsync(CommandArguments arguments, CancellationToken cancellationToken)
    {
        if (!ApiKeyRoleNames.TryParse(arguments.Option("role"), out var role))
        {
            return await FailAsync($"create-key needs --role {ApiKeyRoleNames.NetworkElement} or --role {ApiKeyRoleNames.Admin}");
        }

        if (arguments.Positional.Count > 0)
        {
            return await FailAsync($"create-key takes no argument '{arguments.Positional[0]}'");
        }

        var tenantId = arguments.Option("tenant");
        using var host = await StartStoreAsync(arguments, cancellationToken);
        CreatedApiKey created;
        try
        {
            created = await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync(role, tenantId, arguments.Option("description") ?? string.Empty, cancellationToken);
        }
        catch (ArgumentException exception)
        {
            return await FailAsync("create-key: " + exception.Message);
        }

        await Console.Error.WriteLineAsync(
            $"create-key: created {role.Name()} key {created.Record.KeyId} for {Scope(created.Record.TenantId)}. "
            + "This is the only time the key is shown (only its hash is stored); send it as 'authorization: Bearer <key>':");
        await Console.Out.WriteLineAsync(created.Key);
        return 0;
    }

    public static async Task<int> RevokeAsync(CommandArguments arguments, CancellationToken cancellationToken)
    {
        if (arguments.Positional.Count != 1 || !ApiKeyFormat.IsKeyId(arguments.Positional[0]))
        {
            return await FailAsync($"revoke-key needs one key id ({ApiKeyFormat.KeyIdLength} characters, as list-keys shows it)");
        }

        var keyId = arguments.Positional[0];
        using var host = await StartStoreAsync(arguments, cancellationToken);
        var outcome = await host.Services.GetRequiredService<ApiKeyStore>().RevokeAsync(keyId, cancellationToken);
        switch (outcome)
        {
            case RevokeOutcome.Revoked:
                await Console.Out.WriteLineAsync(
                    $"revoke-key: key {keyId} revoked; running gateways refuse it at once (within Credentials:RefreshIntervalSeconds if one missed the notification)");
                return 0;
            case RevokeOutcome.AlreadyRevoked:
                await Console.Out.WriteLineAsync($"revoke-key: key {keyId} was already revoked");
                return 0;
            default:
                return await FailAsync($"revoke-key: there is no key {keyId}", exitCode: 1);
        }
    }

    public static async Task<int> ListAsync(CommandArguments arguments, CancellationToken cancellationToken)
    {
        var limitText = arguments.Option("limit") ?? DefaultListLimit.ToString(CultureInfo.InvariantCulture);
        if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit is < 1 or > ApiKeyStore.MaxListLimit)
        {
            return await FailAsync($"list-keys --limit must be 1 to {ApiKeyStore.MaxListLimit}");
        }

        using var host = await StartStoreAsync(arguments, cancellationToken);
        var keys = await host.Services.GetRequiredService<ApiKeyStore>().ListAsync(limit, cancellationToken);
        await Console.Out.WriteAsync(Table(keys));
        return 0;
    }

    /// <summary>Keys newest first, one per line: id, role, scope, created, revoked, description. Never a secret.</summary>
    public static string Table(IReadOnlyList<ApiKeyRecord> keys)
    {
        var table = new StringBuilder();
        const string Row = "{0,-12}  {1,-15}  {2,-20}  {3,-20}  {4,-20}  {5}\n";
        table.AppendFormat(CultureInfo.InvariantCulture, Row, "KEY ID", "ROLE", "TENANT", "CREATED (UTC)", "REVOKED (UTC)", "DESCRIPTION");
        foreach (var key in keys)
        {
            table.AppendFormat(
                CultureInfo.InvariantCulture,
                Row,
                key.KeyId,
                key.Role.Name(),
                key.TenantId ?? "(all tenants)",
                Time(key.CreatedAt),
                key.RevokedAt is { } revoked ? Time(revoked) : "-",
                key.Description);
        }

        return table.ToString();
    }

    public static string Scope(string? tenantId) => tenantId is null ? "all tenants" : $"tenant '{tenantId}' only";

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>A host with the store, on a migrated database (unless Storage:MigrateOnStart is false).</summary>
    private static async Task<IHost> StartStoreAsync(CommandArguments arguments, CancellationToken cancellationToken)
    {
        var host = GatewayCommands.BuildCommandHost(arguments.Settings);
        try
        {
            await GatewayApplication.MigrateAsync(host.Services, cancellationToken);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    private static async Task<int> FailAsync(string message, int exitCode = 2)
    {
        await Console.Error.WriteLineAsync(message);
        return exitCode;
    }
}
