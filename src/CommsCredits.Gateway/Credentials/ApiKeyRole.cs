namespace CommsCredits.Gateway.Credentials;

/// <summary>What an API key may call. The values are stored in api_keys.role.</summary>
public enum ApiKeyRole : short
{
    /// <summary>Network elements (SBCs, conferencing bridges): the Charging service only.</summary>
    NetworkElement = 1,

    /// <summary>Administrators and operators: every service but Charging.</summary>
    Admin = 2,
}

/// <summary>The names of the roles on the command line and in messages.</summary>
public static class ApiKeyRoleNames
{
    public const string NetworkElement = "network-element";
    public const string Admin = "admin";

    public static string Name(this ApiKeyRole role) => role switch
    {
        ApiKeyRole.NetworkElement => NetworkElement,
        ApiKeyRole.Admin => Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "unknown API key role"),
    };

    public static bool TryParse(string? name, out ApiKeyRole role)
    {
        role = name switch
        {
            NetworkElement => ApiKeyRole.NetworkElement,
            Admin => ApiKeyRole.Admin,
            _ => default,
        };
        return role != default;
    }
}
