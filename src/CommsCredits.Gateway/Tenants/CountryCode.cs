namespace CommsCredits.Gateway.Tenants;

/// <summary>
/// ISO 3166-1 alpha-2 country codes ("GB"). Only the 249 officially assigned codes are accepted, so that a common
/// mistake such as "UK" (reserved, not assigned: the United Kingdom is "GB") is refused at the API instead of leaving
/// a user outside every pool meant for them.
/// </summary>
public static class CountryCode
{
    /// <summary>Every two-letter code has an index below this (26 × 26), used to keep country sets as bit sets.</summary>
    public const int IndexCount = 26 * 26;

    // The officially assigned codes of ISO 3166-1 (Debian iso-codes 4.15), space-separated.
    private const string Assigned =
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ " +
        "BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR " +
        "CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
        "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU " +
        "ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ " +
        "LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ " +
        "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF " +
        "PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI " +
        "SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR " +
        "TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

    private static readonly bool[] AssignedByIndex = IndexAssigned();

    /// <summary>True when <paramref name="code"/> is an officially assigned ISO 3166-1 alpha-2 code.</summary>
    public static bool IsAssigned(string code) =>
        IsTwoUpperCaseLetters(code) && AssignedByIndex[Index(code)];

    /// <summary>A number from 0 to <see cref="IndexCount"/> − 1 for two upper-case ASCII letters.</summary>
    public static int Index(string code)
    {
        if (!IsTwoUpperCaseLetters(code))
        {
            throw new ArgumentException($"a country code is two upper-case letters (got '{code}')", nameof(code));
        }

        return ((code[0] - 'A') * 26) + (code[1] - 'A');
    }

    private static bool IsTwoUpperCaseLetters(string code) =>
        code.Length == 2 && char.IsAsciiLetterUpper(code[0]) && char.IsAsciiLetterUpper(code[1]);

    private static bool[] IndexAssigned()
    {
        var assigned = new bool[IndexCount];
        foreach (var code in Assigned.Split(' '))
        {
            assigned[Index(code)] = true;
        }

        return assigned;
    }
}
