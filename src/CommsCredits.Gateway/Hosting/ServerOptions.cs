namespace CommsCredits.Gateway.Hosting;

using System.ComponentModel.DataAnnotations;

/// <summary>Where the gateway listens for gRPC, and the HTTP/2 limits of that listener. Section "Server".</summary>
public sealed class ServerOptions
{
    public const string SectionName = "Server";

    /// <summary>http://host:port for h2c (cleartext HTTP/2), https://host:port for TLS (then CertificatePath is required).</summary>
    [Required]
    public string Endpoint { get; set; } = "http://127.0.0.1:5080";

    /// <summary>A PKCS#12 (.pfx) certificate with its private key, for an https endpoint.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The password of the certificate file, if it has one.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>Concurrent calls on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS).</summary>
    [Range(1, 10_000)]
    public int MaxStreamsPerConnection { get; set; } = 1_000;

    /// <summary>Open client connections at once.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Total size of one request's headers (metadata included).</summary>
    [Range(1_024, 1_048_576)]
    public int MaxRequestHeadersBytes { get; set; } = 32_768;

    /// <summary>Idle time after which the server pings a client connection, to find dead peers (HTTP/2 PING).</summary>
    [Range(1, 3_600)]
    public int KeepAlivePingDelaySeconds { get; set; } = 30;

    /// <summary>How long a ping may go unanswered before the connection is closed.</summary>
    [Range(1, 3_600)]
    public int KeepAlivePingTimeoutSeconds { get; set; } = 20;

    /// <summary>How long a draining shutdown waits for calls in flight.</summary>
    [Range(1, 600)]
    public int ShutdownTimeoutSeconds { get; set; } = 15;

    /// <summary>Parses <see cref="Endpoint"/>; throws with a message naming the setting.</summary>
    public Uri EndpointUri()
    {
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.IsDefaultPort && !Endpoint.Contains(':', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Server:Endpoint must be http://host:port or https://host:port (got '{Endpoint}')");
        }

        if (string.Equals(uri.Scheme, "https", StringComparison.Ordinal) && string.IsNullOrEmpty(CertificatePath))
        {
            throw new InvalidOperationException("Server:Endpoint is https, so Server:CertificatePath must name a .pfx certificate");
        }

        var host = uri.Host;
        if (!string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) && host is not ("0.0.0.0" or "*" or "[::]")
            && !System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _))
        {
            throw new InvalidOperationException($"Server:Endpoint host must be an IP address, localhost or 0.0.0.0 (got '{host}')");
        }

        return uri;
    }
}
