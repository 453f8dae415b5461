namespace CommsCredits.Gateway.Metrics;

using System.Diagnostics;
using System.Globalization;

/// <summary>
/// The standard process metrics of Prometheus clients (process_*) and the .NET runtime's (dotnet_*), sampled at scrape
/// time: /proc/self for memory and open descriptors (Linux), the runtime's own counters for the rest.
/// </summary>
internal static class ProcessMetrics
{
    private static long exceptionsThrown;
    private static int subscribed;

    public static void Register(MetricsRegistry registry)
    {
        // One subscription per process, however many registries (tests run several gateways in one process).
        if (Interlocked.Exchange(ref subscribed, 1) == 0)
        {
            AppDomain.CurrentDomain.FirstChanceException += (_, _) => Interlocked.Increment(ref exceptionsThrown);
        }

        var cpu = registry.SampledCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
        var resident = registry.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
        var virtualMemory = registry.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
        var start = registry.Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
        var openFds = registry.Gauge("process_open_fds", "Number of open file descriptors.");
        var collections = registry.SampledCounter("dotnet_gc_collections_total", "Garbage collections since the process started, by generation.", "generation");
        var heap = registry.Gauge("dotnet_gc_heap_size_bytes", "Bytes of the managed heap after the last garbage collection (fragmentation included).");
        var allocated = registry.SampledCounter("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since the process started.");
        var pause = registry.SampledCounter("dotnet_gc_pause_seconds_total", "Time the runtime has paused threads for garbage collection since the process started.");
        var threads = registry.Gauge("dotnet_threadpool_threads", "Thread pool threads that exist now.");
        var queue = registry.Gauge("dotnet_threadpool_queue_length", "Work items queued to the thread pool and not yet started.");
        var exceptions = registry.SampledCounter("dotnet_exceptions_total", "Exceptions thrown (first chance) since the process started, handled ones included.");
        using (var process = Process.GetCurrentProcess())
        {
            start.WithLabels(LabelValues.None).Set(new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        }

        var generations = new Gauge[GC.MaxGeneration + 1];
        for (var generation = 0; generation < generations.Length; generation++)
        {
            generations[generation] = collections.WithLabels(generation.ToString(CultureInfo.InvariantCulture));
        }

        var children = (Cpu: cpu.WithLabels(LabelValues.None), Resident: resident.WithLabels(LabelValues.None), Virtual: virtualMemory.WithLabels(LabelValues.None),
            OpenFds: openFds.WithLabels(LabelValues.None), Heap: heap.WithLabels(LabelValues.None), Allocated: allocated.WithLabels(LabelValues.None), Pause: pause.WithLabels(LabelValues.None),
            Threads: threads.WithLabels(LabelValues.None), Queue: queue.WithLabels(LabelValues.None), Exceptions: exceptions.WithLabels(LabelValues.None));
        registry.AddCollector(() =>
        {
            using (var process = Process.GetCurrentProcess())
            {
                children.Cpu.Set(process.TotalProcessorTime.TotalSeconds);
                children.Resident.Set(process.WorkingSet64);
                children.Virtual.Set(process.VirtualMemorySize64);
            }

            children.OpenFds.Set(CountOpenFds());
            for (var generation = 0; generation < generations.Length; generation++)
            {
                generations[generation].Set(GC.CollectionCount(generation));
            }

            children.Heap.Set(GC.GetGCMemoryInfo().HeapSizeBytes);
            children.Allocated.Set(GC.GetTotalAllocatedBytes(precise: false));
            children.Pause.Set(GC.GetTotalPauseDuration().TotalSeconds);
            children.Threads.Set(ThreadPool.ThreadCount);
            children.Queue.Set(ThreadPool.PendingWorkItemCount);
            children.Exceptions.Set(Interlocked.Read(ref exceptionsThrown));
        });
    }

    /// <summary>Entries of /proc/self/fd, at most 1,000,000 counted (the descriptor limit is far below); 0 where there is no /proc.</summary>
    private static long CountOpenFds()
    {
        if (!Directory.Exists("/proc/self/fd"))
        {
            return 0;
        }

        long count = 0;
        foreach (var _ in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (++count >= 1_000_000)
            {
                break;
            }
        }

        return count;
    }
}
