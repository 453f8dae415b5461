namespace CommsCredits.Gateway.Operations;

using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;

/// <summary>The operations listener (/metrics), apart from the gRPC one. Section "Operations".</summary>
public sealed class OperationsOptions
{
    public const string SectionName = "Operations";

    /// <summary>Whether the gateway serves the operations listener at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>http://host:port (HTTP/1.1, and HTTP/2 with prior knowledge); port 0 takes a free port. Cleartext only: keep it on a private network.</summary>
    [Required]
    public string Endpoint { get; set; } = "http://127.0.0.1:9464";

    /// <summary>How often the Redis-wide gauges (open sessions, money held) are recomputed.</summary>
    [Range(1, 3_600)]
    public int GaugeRefreshSeconds { get; set; } = 15;

    /// <summary>Tenants read per refresh of those gauges; beyond, the gauges cover the first tenants in id order only.</summary>
    [Range(1, 1_000_000)]
    public int MaxTenantsPerGaugeRefresh { get; set; } = 10_000;

    /// <summary>Open connections to the operations listener at once.</summary>
    [Range(1, 10_000)]
    public int MaxConnections { get; set; } = 100;

    /// <summary>Parses <see cref="Endpoint"/> into an address and port; throws with a message naming the setting.</summary>
    public IPEndPoint ParseEndpoint()
    {
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || !string.Equals(uri.Scheme, "http", StringComparison.Ordinal)
            || !Endpoint.AsSpan(uri.Scheme.Length + 3).Contains(':') || !string.Equals(uri.AbsolutePath, "/", StringComparison.Ordinal))
        {
            throw new OptionsValidationException(SectionName, typeof(OperationsOptions), [$"Operations:Endpoint must be http://host:port (got '{Endpoint}')"]);
        }

        var host = uri.Host;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, uri.Port);
        }

        if (host is "0.0.0.0" or "*")
        {
            return new IPEndPoint(IPAddress.Any, uri.Port);
        }

        if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
        {
            return new IPEndPoint(address, uri.Port);
        }

        throw new OptionsValidationException(SectionName, typeof(OperationsOptions), [$"Operations:Endpoint host must be an IP address, localhost or 0.0.0.0 (got '{host}')"]);
    }
}

/// <summary>Checks Operations:Endpoint at start-up, so a bad value stops the gateway with a message naming it.</summary>
internal sealed class OperationsOptionsValidator : IValidateOptions<OperationsOptions>
{
    public ValidateOptionsResult Validate(string? name, OperationsOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            options.ParseEndpoint();
            return ValidateOptionsResult.Success;
        }
        catch (OptionsValidationException exception)
        {
            return ValidateOptionsResult.Fail(exception.Failures);
        }
    }
}
