using System.Globalization;
using System.Runtime.InteropServices;

namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>Signals and /proc queries for the server processes the tests own (Linux only).</summary>
internal static class UnixProcesses
{
    // Linux signal numbers (x86-64 and arm64 agree on these).
    public const int SignalInterrupt = 2;
    public const int SignalQuit = 3;
    public const int SignalKill = 9;
    public const int SignalTerminate = 15;
    public const int SignalContinue = 18;
    public const int SignalStop = 19;

    private const int NoSuchProcessError = 3;

    // Bounds the /proc scan; a test machine with more processes than this is not one we run on.
    private const int ProcessScanLimit = 100_000;

    public static bool IsRoot => GetEffectiveUserId() == 0;

    /// <summary>Sends a signal; returns false when the process no longer exists.</summary>
    public static bool TrySignal(int processId, int signal)
    {
        if (processId <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(processId), processId, "A process id must be positive: 0 and negative ids address process groups.");
        }

        if (SendSignal(processId, signal) == 0)
        {
            return true;
        }

        var error = Marshal.GetLastPInvokeError();
        if (error == NoSuchProcessError)
        {
            return false;
        }

        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"kill({processId}, {signal}) failed with errno {error}."));
    }

    /// <summary>True while the process exists and is not a zombie waiting to be reaped.</summary>
    public static bool IsAlive(int processId)
    {
        var fields = ReadStatFields(processId);
        return fields is not null && !string.Equals(fields[0], "Z", StringComparison.Ordinal);
    }

    /// <summary>The process start time in clock ticks since boot: with the id, it names a process uniquely.</summary>
    public static long? ReadStartTimeTicks(int processId)
    {
        // Fields after the command name start at "state" (field 3); starttime is field 22.
        var fields = ReadStatFields(processId);
        return fields is null ? null : long.Parse(fields[22 - 3], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// CPU a process has used (user and system), in clock ticks (100 a second on Linux), or null when it is gone; with
    /// <paramref name="withReapedChildren"/>, also that of its children that have exited and been waited for.
    /// </summary>
    public static long? ReadCpuTicks(int processId, bool withReapedChildren)
    {
        // utime, stime, cutime and cstime are fields 14 to 17.
        var fields = ReadStatFields(processId);
        if (fields is null)
        {
            return null;
        }

        var ticks = long.Parse(fields[14 - 3], CultureInfo.InvariantCulture) + long.Parse(fields[15 - 3], CultureInfo.InvariantCulture);
        return withReapedChildren
            ? ticks + long.Parse(fields[16 - 3], CultureInfo.InvariantCulture) + long.Parse(fields[17 - 3], CultureInfo.InvariantCulture)
            : ticks;
    }

    /// <summary>The direct children of a process, found by scanning /proc.</summary>
    public static IReadOnlyList<int> FindChildren(int parentProcessId)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc").Take(ProcessScanLimit))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var processId))
            {
                continue;
            }

            // Field 4 is the parent id.
            var fields = ReadStatFields(processId);
            if (fields is not null && int.Parse(fields[4 - 3], CultureInfo.InvariantCulture) == parentProcessId)
            {
                children.Add(processId);
            }
        }

        return children;
    }

    private static string[]? ReadStatFields(int processId)
    {
        string stat;
        try
        {
            stat = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/{processId}/stat"));
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return null;
        }

        // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
        var afterName = stat.LastIndexOf(')');
        return stat[(afterName + 2)..].Split(' ');
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int processId, int signal);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEffectiveUserId();
}
