namespace CommsCredits.Gateway.Hosting;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

/// <summary>
/// Where every command's settings come from, lowest precedence first: appsettings.json next to the gateway's dll (not in
/// the working directory, so a gateway started from anywhere finds it), appsettings.{Environment}.json, environment
/// variables (Section__Key, then COMMSCREDITS_Section__Key), the command line (--Section:Key=value). And the check at
/// start-up that stops a process with a bad setting before it does anything.
/// </summary>
public static class GatewayConfiguration
{
    /// <summary>Environment variables with this prefix are settings too (COMMSCREDITS_Storage__Postgres), and win over unprefixed ones.</summary>
    public const string EnvironmentPrefix = "COMMSCREDITS_";

    /// <summary>The exit code of a process stopped by a bad setting (the code of a usage error).</summary>
    public const int ExitConfigurationError = 2;

    /// <summary>The directory the host reads appsettings.json from: the gateway's own.</summary>
    public static string ContentRoot => AppContext.BaseDirectory;

    /// <summary>
    /// Adds the prefixed environment variables above the host's unprefixed ones, and the command line again above them
    /// (the host added it below the environment variables' new source), so that the command line wins.
    /// </summary>
    public static void AddGatewaySources(IConfigurationBuilder configuration, string[] args)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.AddEnvironmentVariables(EnvironmentPrefix);
        configuration.AddCommandLine(args);
    }

    /// <summary>
    /// Binds and validates every options class registered with ValidateOnStart, now, so that a bad setting stops the
    /// process before migrations or listeners. Throws <see cref="ConfigurationErrorException"/> with every failure.
    /// </summary>
    public static void ValidateNow(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (OptionsValidationException exception)
        {
            throw new ConfigurationErrorException(exception.Failures.ToList(), exception);
        }
        catch (AggregateException exception) when (exception.InnerExceptions.All(inner => inner is OptionsValidationException))
        {
            throw new ConfigurationErrorException(exception.InnerExceptions.SelectMany(inner => ((OptionsValidationException)inner).Failures).ToList(), exception);
        }
        catch (InvalidOperationException exception) when (IsBindingFailure(exception))
        {
            // The binder's message names the setting ("Failed to convert configuration value at 'Settlement:MaxBatchSize' to type 'System.Int32'").
            throw new ConfigurationErrorException([exception.Message], exception);
        }
    }

    /// <summary>Reads a section before the host is built (Kestrel's listener needs it); a value that does not convert is a configuration error.</summary>
    public static T Read<T>(IConfiguration configuration, string section)
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(configuration);
        try
        {
            return configuration.GetSection(section).Get<T>() ?? new T();
        }
        catch (InvalidOperationException exception) when (IsBindingFailure(exception))
        {
            throw new ConfigurationErrorException([exception.Message], exception);
        }
    }

    private static bool IsBindingFailure(InvalidOperationException exception) =>
        exception.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal)
        || exception.Message.StartsWith("Failed to create instance of type", StringComparison.Ordinal);
}

/// <summary>A setting is missing, malformed or out of range; each message names the setting.</summary>
public sealed class ConfigurationErrorException : Exception
{
    public ConfigurationErrorException()
        : this([], null)
    {
    }

    public ConfigurationErrorException(string message)
        : this([message], null)
    {
    }

    public ConfigurationErrorException(string message, Exception innerException)
        : this([message], innerException)
    {
    }

    public ConfigurationErrorException(IReadOnlyList<string> failures, Exception? innerException)
        : base(string.Join("; ", failures), innerException)
    {
        Failures = failures;
    }

    public IReadOnlyList<string> Failures { get; } = [];
}
