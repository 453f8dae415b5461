namespace CommsCredits.Gateway.Provisioning;

using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Charging;
using CommsCredits.Gateway.Rating;
using CommsCredits.Gateway.Tenants;
using Google.Protobuf.Collections;
using static CommsCredits.Gateway.Charging.RequestValidator;

/// <summary>
/// Checks the fields of Directory requests (directory.proto). A bad field fails the request with INVALID_ARGUMENT and
/// a message naming it, before anything is read or written.
/// </summary>
public static class DirectoryValidator
{
    public const int MaxUpnLength = 256;
    public const int MaxDisplayNameLength = 200;
    public const int MaxMinutesPerLicence = 100_000;
    public const int MaxCoveredPrefixes = 1_000;

    public static void PutUser(PutUserRequest request)
    {
        TenantId(request.TenantId);
        UserId(request.UserId);
        Upn(request.Upn);
        DisplayName(request.DisplayName);
        Country(request.LocationCountry, "location_country");
        if (request.CallingPlan is not (CallingPlan.None or CallingPlan.Domestic or CallingPlan.DomesticAndInternational or CallingPlan.PayAsYouGo))
        {
            throw Invalid($"calling_plan must be NONE, DOMESTIC, DOMESTIC_AND_INTERNATIONAL or PAY_AS_YOU_GO (got {(int)request.CallingPlan})");
        }
    }

    /// <summary>Checks the pool's fields and returns it as stored.</summary>
    public static MinutePoolDefinition PutMinutePool(PutMinutePoolRequest request)
    {
        TenantId(request.TenantId);
        TenantId(request.PoolId, "pool_id");
        DisplayName(request.DisplayName);
        if (request.CallType is not (CallType.OutboundPstn or CallType.ConferenceDialOut))
        {
            throw Invalid($"call_type must be OUTBOUND_PSTN or CONFERENCE_DIAL_OUT: pools include no toll-free minutes (got {(int)request.CallType})");
        }

        if (request.Entitlement is not (PoolEntitlement.DomesticCallingPlan or PoolEntitlement.InternationalCallingPlan or PoolEntitlement.AudioConferencing))
        {
            throw Invalid($"entitlement must be DOMESTIC_CALLING_PLAN, INTERNATIONAL_CALLING_PLAN or AUDIO_CONFERENCING (got {(int)request.Entitlement})");
        }

        if (request.MinutesPerLicence > MaxMinutesPerLicence)
        {
            throw Invalid($"minutes_per_licence must be at most {MaxMinutesPerLicence} (got {request.MinutesPerLicence})");
        }

        CoveredPrefixes(request.CoveredPrefixes);
        for (var index = 0; index < request.UserCountries.Count; index++)
        {
            Country(request.UserCountries[index], string.Create(CultureInfo.InvariantCulture, $"user_countries[{index}]"));
        }

        Distinct(request.UserCountries, "user_countries");

        // Stored sorted: the lists are sets, so the same pool sent in another order is the same pool.
        return new MinutePoolDefinition(
            request.PoolId, request.DisplayName, request.CallType, request.Entitlement, (int)request.MinutesPerLicence,
            [.. request.CoveredPrefixes.Order(StringComparer.Ordinal)], [.. request.UserCountries.Order(StringComparer.Ordinal)]);
    }

    /// <summary>The form of a user_id (see charging.proto), without throwing.</summary>
    public static bool IsUserId(string value) =>
        value.Length is > 0 and <= MaxUserIdLength && value.All(character => character is >= '!' and <= '~');

    public static void Upn(string value)
    {
        if (value.Length > MaxUpnLength || !IsUpn(value))
        {
            throw Invalid($"upn must be 3 to {MaxUpnLength} printable ASCII characters with exactly one '@', not first or last (got '{EchoedText.Shorten(value, 40)}')");
        }
    }

    public static void DisplayName(string value)
    {
        if (value.Length is 0 or > MaxDisplayNameLength || value.Any(char.IsControl))
        {
            throw Invalid($"display_name must be 1 to {MaxDisplayNameLength} characters without control characters (got {value.Length})");
        }
    }

    public static void Country(string value, string field)
    {
        if (!CountryCode.IsAssigned(value))
        {
            throw Invalid($"{field} must be an assigned ISO 3166-1 alpha-2 code such as GB or US (got '{EchoedText.Shorten(value, 40)}')");
        }
    }

    /// <summary>The page size to use: the request's, or the default for 0.</summary>
    public static int PageSize(uint requested, DirectoryOptions settings)
    {
        if (requested > settings.MaxPageSize)
        {
            throw Invalid($"page_size must be at most {settings.MaxPageSize} (Directory:MaxPageSize), or 0 for the default (got {requested})");
        }

        return requested == 0 ? settings.DefaultPageSize : (int)requested;
    }

    private static void CoveredPrefixes(RepeatedField<string> prefixes)
    {
        if (prefixes.Count is 0 or > MaxCoveredPrefixes)
        {
            throw Invalid($"covered_prefixes must hold 1 to {MaxCoveredPrefixes} prefixes (got {prefixes.Count})");
        }

        for (var index = 0; index < prefixes.Count; index++)
        {
            var prefix = prefixes[index];
            if (prefix.Length is 0 or > E164.MaxDigits || prefix[0] == '0' || !prefix.All(char.IsAsciiDigit))
            {
                throw Invalid(string.Create(
                    CultureInfo.InvariantCulture,
                    $"covered_prefixes[{index}] must be 1 to {E164.MaxDigits} digits without '+', the first not 0 (got '{EchoedText.Shorten(prefix, 40)}')"));
            }
        }

        Distinct(prefixes, "covered_prefixes");
    }

    private static void Distinct(RepeatedField<string> values, string field)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var index = 0; index < values.Count; index++)
        {
            if (!seen.Add(values[index]))
            {
                throw Invalid(string.Create(CultureInfo.InvariantCulture, $"{field}[{index}] '{values[index]}' appears twice"));
            }
        }
    }

    private static bool IsUpn(string value)
    {
        var at = value.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at == value.Length - 1 || value.IndexOf('@', at + 1) >= 0)
        {
            return false;
        }

        foreach (var character in value)
        {
            if (character is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

}
