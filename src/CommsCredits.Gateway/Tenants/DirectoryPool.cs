namespace CommsCredits.Gateway.Tenants;

using CommsCredits.Contracts.V1;

/// <summary>A monthly pool of included minutes as stored (directory.proto, MinutePool, without its size).</summary>
public sealed record MinutePoolDefinition(
    string PoolId,
    string DisplayName,
    CallType CallType,
    PoolEntitlement Entitlement,
    int MinutesPerLicence,
    IReadOnlyList<string> CoveredPrefixes,
    IReadOnlyList<string> UserCountries)
{
    /// <summary>Field by field, the lists element by element (record equality would compare the lists' references).</summary>
    public bool IsSameAs(MinutePoolDefinition other) =>
        string.Equals(PoolId, other.PoolId, StringComparison.Ordinal)
        && string.Equals(DisplayName, other.DisplayName, StringComparison.Ordinal)
        && CallType == other.CallType
        && Entitlement == other.Entitlement
        && MinutesPerLicence == other.MinutesPerLicence
        && CoveredPrefixes.SequenceEqual(other.CoveredPrefixes, StringComparer.Ordinal)
        && UserCountries.SequenceEqual(other.UserCountries, StringComparer.Ordinal);
}

/// <summary>A pool of a loaded directory, sized from the directory's users.</summary>
public sealed class DirectoryPool
{
    // Indexed by CountryCode.Index; null when the pool serves users of any country.
    private readonly bool[]? countries;

    internal DirectoryPool(MinutePoolDefinition definition, int licensedUsers)
    {
        Definition = definition;
        LicensedUsers = licensedUsers;
        SizeSeconds = (long)definition.MinutesPerLicence * 60 * licensedUsers;
        if (definition.UserCountries.Count > 0)
        {
            countries = new bool[CountryCode.IndexCount];
            foreach (var country in definition.UserCountries)
            {
                countries[CountryCode.Index(country)] = true;
            }
        }
    }

    public MinutePoolDefinition Definition { get; }

    public string PoolId => Definition.PoolId;

    /// <summary>The tenant's users the pool is sized from: entitled, and in one of its countries (or any).</summary>
    public int LicensedUsers { get; }

    /// <summary>minutes_per_licence × 60 × <see cref="LicensedUsers"/>: the seconds the pool holds at the start of a month.</summary>
    public long SizeSeconds { get; }

    /// <summary>Whether the pool serves this user: entitled, and located in one of the pool's countries (or any).</summary>
    public bool Serves(DirectoryUser user) =>
        user.IsEntitledTo(Definition.Entitlement) && (countries is null || countries[user.CountryIndex]);
}
