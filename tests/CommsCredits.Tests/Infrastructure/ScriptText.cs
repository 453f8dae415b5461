namespace CommsCredits.Tests.Infrastructure;

using System.Globalization;
using System.Text;

/// <summary>
/// Text as the Lua scripts return it, for tests and micro-benchmarks that need a stored answer or a settlement without
/// running a script (the gateway only decodes these lists: Netstrings, SettlementCodec).
/// </summary>
public static class ScriptText
{
    /// <summary>common.lua's encode: "length:text" items joined by ',', each length in UTF-8 bytes.</summary>
    public static string Encode(params string[] fields) =>
        string.Join(',', fields.Select(field => Encoding.UTF8.GetByteCount(field).ToString(CultureInfo.InvariantCulture) + ":" + field));
}
