namespace CommsCredits.Gateway.Tenants;

using CommsCredits.Contracts.V1;

/// <summary>A user of a tenant with the entitlements the charging path checks (directory.proto, User).</summary>
public sealed record DirectoryUser(
    string UserId,
    string LocationCountry,
    bool CommunicationsCreditsLicence,
    CallingPlan CallingPlan,
    bool AudioConferencing)
{
    /// <summary>The location as a <see cref="CountryCode.Index"/>, for the pools' country sets.</summary>
    internal int CountryIndex { get; } = CountryCode.Index(LocationCountry);

    /// <summary>Whether the user's licences entitle them to pools of <paramref name="entitlement"/>.</summary>
    public bool IsEntitledTo(PoolEntitlement entitlement) => entitlement switch
    {
        PoolEntitlement.DomesticCallingPlan => CallingPlan is CallingPlan.Domestic or CallingPlan.DomesticAndInternational,
        PoolEntitlement.InternationalCallingPlan => CallingPlan == CallingPlan.DomesticAndInternational,
        PoolEntitlement.AudioConferencing => AudioConferencing,
        _ => false,
    };
}
