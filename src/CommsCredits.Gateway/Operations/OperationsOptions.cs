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

    /// <summary>
    /// http://host:port (HTTP/1.1: Kestrel offers HTTP/2 only through TLS), or https://host:port with CertificatePath
    /// (HTTP/1.1 and HTTP/2 by ALPN); port 0 takes a free port.
    /// </summary>
    [Required]
    public string Endpoint { get; set; } = "http://127.0.0.1:9464";

    /// <summary>A PKCS#12 (.pfx) certificate with its private key, for an https endpoint.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The password of the certificate file, if it has one.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>Whether <see cref="Endpoint"/> is https (checked by <see cref="ParseEndpoint"/>).</summary>
    public bool UsesTls => Endpoint.StartsWith("https://", StringComparison.Ordinal);

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
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || !Endpoint.AsSpan(uri.Scheme.Length + 3).Contains(':') || !string.Equals(uri.AbsolutePath, "/", StringComparison.Ordinal))
        {
            throw new OptionsValidationException(SectionName, typeof(OperationsOptions), [$"Operations:Endpoint must be http://host:port or https://host:port (got '{Endpoint}')"]);
        }

        if (UsesTls && string.IsNullOrEmpty(CertificatePath))
        {
            throw new OptionsValidationException(SectionName, typeof(OperationsOptions), ["Operations:Endpoint is https, so Operations:CertificatePath must name a .pfx certificate"]);
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
