using System.Diagnostics;

namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>
/// Stops the servers of a test process that is gone and deletes its directory. The same shell script
/// serves twice: as a guardian that the test process starts and that acts when the test process ends
/// however it ends (even SIGKILL, or the test runner killing it before AppDomain.ProcessExit is done),
/// and as the sweep that a later run makes over directories left by a crashed run.
/// </summary>
internal static class Reaper
{
    // Each server directory holds either server.pid (Redis: written by us) or data/postmaster.pid
    // (PostgreSQL: written by the postmaster). A pid file can be stale and its number reused by another
    // process, so a process is only signalled if its working directory is the directory of that server
    // (Redis runs in --dir, the postmaster in its data directory).
    // PostgreSQL gets SIGCONT first (a test may have paused it; runuser, its parent when the tests run as
    // root, stops itself when its child stops and must be continued too, or it never reaps the postmaster),
    // then SIGQUIT (immediate shutdown, which still removes its shared memory); after a bounded wait,
    // whatever is left gets SIGKILL. The script refuses a directory outside the test base directory.
    private const string Script = """
        exec </dev/null >/dev/null 2>&1
        root=$1
        case $root in */commscredits-tests-*/?*) ;; *) exit 2 ;; esac
        owned() { [ -n "$1" ] && [ "$(readlink "/proc/$1/cwd")" = "$(readlink -f "$2")" ]; }
        pids=""
        for pid_file in "$root"/*/server.pid; do
            [ -f "$pid_file" ] || continue
            pid=$(head -n 1 "$pid_file")
            owned "$pid" "${pid_file%/*}" || continue
            kill -KILL "$pid"
            pids="$pids $pid"
        done
        for pid_file in "$root"/*/data/postmaster.pid; do
            [ -f "$pid_file" ] || continue
            pid=$(head -n 1 "$pid_file")
            owned "$pid" "${pid_file%/*}" || continue
            # shellcheck disable=SC2046 # one word per child pid
            kill -CONT "$pid" $(cat "/proc/$pid/task/$pid/children")
            parent=$(cut -d ' ' -f 4 "/proc/$pid/stat")
            [ "$(cat "/proc/$parent/comm")" = runuser ] && kill -CONT "$parent"
            kill -QUIT "$pid"
            pids="$pids $pid"
        done
        ticks=0
        for pid in $pids; do
            while [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" && [ "$ticks" -lt 100 ]; do
                sleep 0.05
                ticks=$((ticks + 1))
            done
            # shellcheck disable=SC2046 # one word per child pid
            kill -KILL "$pid" $(cat "/proc/$pid/task/$pid/children")
        done
        rm -rf "$root"
        """;

    private const string GuardianPrelude = """
        while read -r _; do :; done
        """;

    private static readonly TimeSpan SweepTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Reaps a directory now (its owner is known to be gone).</summary>
    public static void Sweep(string processDirectory)
    {
        using var process = Process.Start(CreateStartInfo(Script, processDirectory))!;
        process.StandardInput.Close();
        if (!process.WaitForExit(SweepTimeout))
        {
            process.Kill();
            throw new InvalidOperationException("Reaping the stale test directory " + processDirectory + " did not finish in " + SweepTimeout + ".");
        }
    }

    /// <summary>
    /// Starts the guardian of a directory: it waits for end-of-file on its standard input, whose write end
    /// only this process holds, so it reaps the directory as soon as this process ends. Keep the returned
    /// process referenced for the life of the test process: disposing it closes the pipe and reaps at once.
    /// </summary>
    public static Process StartGuardian(string processDirectory) =>
        Process.Start(CreateStartInfo(GuardianPrelude + "\n" + Script, processDirectory))!;

    private static ProcessStartInfo CreateStartInfo(string script, string processDirectory)
    {
        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(script);
        startInfo.ArgumentList.Add("commscredits-test-reaper");
        startInfo.ArgumentList.Add(processDirectory);
        return startInfo;
    }
}
