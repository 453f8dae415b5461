namespace CommsCredits.Gateway.Balances;

using System.Security.Cryptography;
using System.Text;

/// <summary>The Lua scripts that read and change a tenant's hot state. Redis state is changed by nothing else.</summary>
public enum HotScriptName
{
    LoadAccount,

    /// <summary>Writes sessions restored from the session journal into a tenant's hot state being rebuilt.</summary>
    RestoreSessions,
    InvalidateAccount,

    /// <summary>Drops an account built in another Redis dataset than the one its primary serves now (RedisHotStore.Incarnation.cs).</summary>
    RetireAccount,

    /// <summary>The identity of a primary's dataset (run id and replication id), and the one its hot state was last checked against.</summary>
    Incarnation,
    Reserve,
    Usage,
    DebitEvent,
    Credit,
    ExpireLots,
    ReadLots,
    DueSessions,

    /// <summary>Reads the account, the lots' sum and the pending settlements for the reconciliation.</summary>
    ReconcileSnapshot,
}

/// <summary>
/// One script's full text (tariff.lua and common.lua, then its own file) and its SHA-1, for EVALSHA.
/// </summary>
public sealed class HotScript
{
    private static readonly Dictionary<HotScriptName, HotScript> Scripts = LoadAll();

    private HotScript(HotScriptName name, string text)
    {
        Name = name;
        Text = text;
#pragma warning disable CA5350 // EVALSHA names scripts by SHA-1; it is an identifier here, not a security measure.
        Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
    }

    public HotScriptName Name { get; }

    public string Text { get; }

    /// <summary>The SHA-1 of <see cref="Text"/>, which EVALSHA names the script by (not a security use).</summary>
    public byte[] Sha1 { get; }

    public static HotScript Get(HotScriptName name) => Scripts[name];

    private static Dictionary<HotScriptName, HotScript> LoadAll()
    {
        var prelude = Read("tariff.lua") + "\n" + Read("common.lua") + "\n";
        var files = new Dictionary<HotScriptName, string>
        {
            [HotScriptName.LoadAccount] = "load_account.lua",
            [HotScriptName.RestoreSessions] = "restore_sessions.lua",
            [HotScriptName.InvalidateAccount] = "invalidate_account.lua",
            [HotScriptName.RetireAccount] = "retire_account.lua",
            [HotScriptName.Incarnation] = "incarnation.lua",
            [HotScriptName.Reserve] = "reserve.lua",
            [HotScriptName.Usage] = "usage.lua",
            [HotScriptName.DebitEvent] = "debit_event.lua",
            [HotScriptName.Credit] = "credit.lua",
            [HotScriptName.ExpireLots] = "expire_lots.lua",
            [HotScriptName.ReadLots] = "read_lots.lua",
            [HotScriptName.DueSessions] = "due_sessions.lua",
            [HotScriptName.ReconcileSnapshot] = "reconcile_snapshot.lua",
        };
        var scripts = new Dictionary<HotScriptName, HotScript>();
        foreach (var (name, file) in files)
        {
            scripts[name] = new HotScript(name, prelude + Read(file));
        }

        return scripts;
    }

    private static string Read(string file)
    {
        var assembly = typeof(HotScript).Assembly;
        var resource = "CommsCredits.Gateway.Balances.Scripts." + file;
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded script '{resource}' is missing");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
