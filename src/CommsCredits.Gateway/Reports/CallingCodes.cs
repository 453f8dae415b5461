namespace CommsCredits.Gateway.Reports;

using System.Collections.Frozen;

/// <summary>
/// Country calling codes of common countries and the ISO 3166-1 countries that use them, for the usage export's
/// Domestic/International column. A number is matched on its longest known code (3, 2, then 1 digit); a number whose
/// code is not in the table is International.
/// </summary>
public static class CallingCodes
{
    /// <summary>The longest calling code, in digits.</summary>
    public const int MaxCodeDigits = 3;

    private static readonly FrozenDictionary<string, string[]> CountriesByCode = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["1"] = ["US", "CA", "PR", "VI", "GU", "AS", "MP", "BS", "BB", "JM", "TT", "DO", "BM", "KY"],
        ["7"] = ["RU", "KZ"],
        ["20"] = ["EG"], ["27"] = ["ZA"], ["30"] = ["GR"], ["31"] = ["NL"], ["32"] = ["BE"], ["33"] = ["FR", "MC"],
        ["34"] = ["ES"], ["36"] = ["HU"], ["39"] = ["IT", "VA", "SM"], ["40"] = ["RO"], ["41"] = ["CH"], ["43"] = ["AT"],
        ["44"] = ["GB", "GG", "JE", "IM"], ["45"] = ["DK"], ["46"] = ["SE"], ["47"] = ["NO", "SJ"], ["48"] = ["PL"],
        ["49"] = ["DE"], ["51"] = ["PE"], ["52"] = ["MX"], ["54"] = ["AR"], ["55"] = ["BR"], ["56"] = ["CL"],
        ["57"] = ["CO"], ["60"] = ["MY"], ["61"] = ["AU", "CX", "CC"], ["62"] = ["ID"], ["63"] = ["PH"], ["64"] = ["NZ"],
        ["65"] = ["SG"], ["66"] = ["TH"], ["81"] = ["JP"], ["82"] = ["KR"], ["84"] = ["VN"], ["86"] = ["CN"],
        ["90"] = ["TR"], ["91"] = ["IN"], ["92"] = ["PK"], ["234"] = ["NG"], ["254"] = ["KE"], ["351"] = ["PT"],
        ["352"] = ["LU"], ["353"] = ["IE"], ["354"] = ["IS"], ["356"] = ["MT"], ["357"] = ["CY"], ["358"] = ["FI", "AX"],
        ["359"] = ["BG"], ["370"] = ["LT"], ["371"] = ["LV"], ["372"] = ["EE"], ["380"] = ["UA"], ["385"] = ["HR"],
        ["386"] = ["SI"], ["420"] = ["CZ"], ["421"] = ["SK"], ["852"] = ["HK"], ["886"] = ["TW"], ["966"] = ["SA"],
        ["971"] = ["AE"], ["972"] = ["IL"], ["974"] = ["QA"],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>"Domestic" when <paramref name="e164"/> ("+44...") has a calling code of <paramref name="country"/>, else "International".</summary>
    public static string DomesticOrInternational(string e164, string country)
    {
        var digits = e164.StartsWith('+') ? e164.AsSpan(1) : e164.AsSpan();
        for (var length = Math.Min(MaxCodeDigits, digits.Length); length >= 1; length--)
        {
            if (CountriesByCode.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(digits[..length], out var countries))
            {
                return Array.IndexOf(countries, country) >= 0 ? "Domestic" : "International";
            }
        }

        return "International";
    }
}
