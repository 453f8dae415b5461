namespace CommsCredits.Tests.Transport;

using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

/// <summary>Captures the server's logs so tests can fail on unexpected errors and check expected ones.</summary>
public sealed class TestLogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> entries = new();

    public ILogger CreateLogger(string categoryName) => new SinkLogger(this, categoryName);

    public IReadOnlyList<LogEntry> Entries => entries.ToArray();

    public IReadOnlyList<LogEntry> Errors => entries.Where(entry => entry.Level >= LogLevel.Error).ToArray();

    /// <summary>Removes and returns every entry so far: a test consumes what it expected.</summary>
    public IReadOnlyList<LogEntry> Drain()
    {
        var drained = new List<LogEntry>();
        while (entries.TryDequeue(out var entry))
        {
            drained.Add(entry);
        }

        return drained;
    }

    /// <summary>Waits until an entry matches, for logs written after the response (abandoned handlers).</summary>
    public async Task<LogEntry> WaitForAsync(Func<LogEntry, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var match = entries.FirstOrDefault(predicate);
            if (match is not null)
            {
                return match;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("no log entry matched within " + timeout);
    }

    public void Dispose()
    {
    }

    /// <summary>One line logged; <see cref="Scopes"/> are the scopes open when it was logged, outermost first, as text.</summary>
    public sealed record LogEntry(LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception)
    {
        public IReadOnlyList<string> Scopes { get; init; } = [];

        public override string ToString() => $"{Level} {Category}[{EventId.Id}] {Message} {Exception}";
    }

    /// <summary>The open scopes of the current async flow, innermost last, as the framework's loggers keep them.</summary>
    private readonly AsyncLocal<ImmutableStack<string>?> scopes = new();

    private sealed class SinkLogger(TestLogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            var outer = sink.scopes.Value;
            sink.scopes.Value = (outer ?? ImmutableStack<string>.Empty).Push(state.ToString() ?? string.Empty);
            return new ScopeEnd(sink, outer);
        }

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.entries.Enqueue(new LogEntry(logLevel, category, eventId, formatter(state, exception), exception)
            {
                Scopes = sink.scopes.Value is { } open ? [.. open.Reverse()] : [],
            });
    }

    private sealed class ScopeEnd(TestLogSink sink, ImmutableStack<string>? outer) : IDisposable
    {
        public void Dispose() => sink.scopes.Value = outer;
    }
}
