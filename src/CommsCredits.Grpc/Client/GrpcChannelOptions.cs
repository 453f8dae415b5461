namespace CommsCredits.Grpc.Client;

using System.Globalization;

/// <summary>Settings of a <see cref="GrpcChannel"/>; checked when the channel is created.</summary>
public sealed class GrpcChannelOptions
{
    public const int DefaultMessageSizeBytes = 4 * 1024 * 1024;
    public const int MaxMessageSizeLimitBytes = 64 * 1024 * 1024;

    /// <summary>The largest response message accepted; a larger one fails the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSizeBytes { get; set; } = DefaultMessageSizeBytes;

    /// <summary>The largest request message sent; a larger one fails the call locally with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageSizeBytes { get; set; } = DefaultMessageSizeBytes;

    /// <summary>
    /// Connections to the server, at most. Several HTTP/2 connections are opened only when the server's stream
    /// limit (Kestrel: 100 per connection) is reached; null leaves it unbounded.
    /// </summary>
    public int? MaxConnections { get; set; }

    /// <summary>How long opening a connection may take before the call fails with UNAVAILABLE.</summary>
    public int ConnectTimeoutMs { get; set; } = 5000;

    /// <summary>
    /// Accepts any TLS certificate from the server. For development against a self-signed certificate only:
    /// it removes the protection TLS gives.
    /// </summary>
    public bool AcceptAnyServerCertificate { get; set; }

    /// <summary>
    /// The HTTP handler to send requests with (tests); when set, the channel neither configures nor disposes it,
    /// and <see cref="MaxConnections"/>, <see cref="ConnectTimeoutMs"/> and
    /// <see cref="AcceptAnyServerCertificate"/> do not apply.
    /// </summary>
    public HttpMessageHandler? Handler { get; set; }

    internal void Validate()
    {
        CheckRange(nameof(MaxReceiveMessageSizeBytes), MaxReceiveMessageSizeBytes, 1, MaxMessageSizeLimitBytes);
        CheckRange(nameof(MaxSendMessageSizeBytes), MaxSendMessageSizeBytes, 1, MaxMessageSizeLimitBytes);
        CheckRange(nameof(ConnectTimeoutMs), ConnectTimeoutMs, 1, 600_000);
        if (MaxConnections is { } connections)
        {
            CheckRange(nameof(MaxConnections), connections, 1, 1024);
        }
    }

    private static void CheckRange(string name, int value, int minimum, int maximum)
    {
        if (value < minimum || value > maximum)
        {
            throw new ArgumentOutOfRangeException(
                name,
                value,
                string.Create(CultureInfo.InvariantCulture, $"GrpcChannelOptions.{name} must be between {minimum} and {maximum}; it is {value}."));
        }
    }
}
