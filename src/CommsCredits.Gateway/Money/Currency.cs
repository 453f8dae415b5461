namespace CommsCredits.Gateway.Money;

/// <summary>
/// ISO 4217 alphabetic currency codes ("EUR"). Every amount of a tenant is in its one currency, as micro-units; the
/// code is stored and echoed, never converted.
/// </summary>
public static class Currency
{
    /// <summary>True when <paramref name="code"/> has the ISO 4217 form: three upper-case ASCII letters.</summary>
    public static bool IsValidCode(ReadOnlySpan<char> code) =>
        code.Length == 3 && char.IsAsciiLetterUpper(code[0]) && char.IsAsciiLetterUpper(code[1])
        && char.IsAsciiLetterUpper(code[2]);
}
