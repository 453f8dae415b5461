namespace CommsCredits.Gateway.Hosting;

/// <summary>
/// The arguments after a command: its own options (--name value or --name=value), its positional arguments, and the
/// configuration settings (--Section:Key=value or --Section:Key value), which go to the host unchanged.
/// </summary>
public sealed class CommandArguments
{
    private readonly Dictionary<string, string> options = new(StringComparer.Ordinal);
    private readonly List<string> positional = [];
    private readonly List<string> settings = [];
    private readonly HashSet<string> flags = new(StringComparer.Ordinal);

    private CommandArguments()
    {
    }

    public IReadOnlyList<string> Positional => positional;

    public string[] Settings => [.. settings];

    /// <summary>Parses; an option not in <paramref name="known"/> or without a value throws <see cref="CommandUsageException"/> naming it.</summary>
    public static CommandArguments Parse(IReadOnlyList<string> arguments, params string[] known) => Parse(arguments, [], known);

    /// <summary>
    /// Parses like <see cref="Parse(IReadOnlyList{string}, string[])"/>; the options in <paramref name="knownFlags"/> take
    /// no value (--repair), and one given a value (--repair=yes) throws <see cref="CommandUsageException"/>.
    /// </summary>
    public static CommandArguments Parse(IReadOnlyList<string> arguments, IReadOnlyCollection<string> knownFlags, params string[] known)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(knownFlags);
        var parsed = new CommandArguments();
        for (var index = 0; index < arguments.Count; index++)
        {
            var argument = arguments[index];
            var separator = argument.IndexOf('=', StringComparison.Ordinal);
            var name = separator < 0 ? argument : argument[..separator];
            var hasNext = index + 1 < arguments.Count && !arguments[index + 1].StartsWith("--", StringComparison.Ordinal);
            if (argument.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal))
            {
                parsed.settings.Add(argument);
                if (separator < 0 && hasNext)
                {
                    parsed.settings.Add(arguments[++index]);
                }
            }
            else if (argument.StartsWith('-'))
            {
                var option = name.TrimStart('-');
                if (knownFlags.Contains(option, StringComparer.Ordinal))
                {
                    parsed.flags.Add(separator < 0 ? option : throw new CommandUsageException($"option '{name}' takes no value"));
                    continue;
                }

                if (!known.Contains(option, StringComparer.Ordinal))
                {
                    throw new CommandUsageException($"unknown option '{name}'");
                }

                if (separator < 0 && !hasNext)
                {
                    throw new CommandUsageException($"option '{name}' needs a value");
                }

                parsed.options[option] = separator < 0 ? arguments[++index] : argument[(separator + 1)..];
            }
            else
            {
                parsed.positional.Add(argument);
            }
        }

        return parsed;
    }

    /// <summary>The option's value, or null when it was not given.</summary>
    public string? Option(string name) => options.GetValueOrDefault(name);

    /// <summary>Whether a flag (an option without a value) was given.</summary>
    public bool Flag(string name) => flags.Contains(name);
}

/// <summary>A command was given options it does not take; the message says which.</summary>
public sealed class CommandUsageException : Exception
{
    public CommandUsageException()
    {
    }

    public CommandUsageException(string message)
        : base(message)
    {
    }

    public CommandUsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
