namespace CommsCredits.Grpc.Server;

/// <summary>
/// Limits of the gRPC server, bound from configuration (the "Grpc" section by convention) and validated at
/// start-up.
/// </summary>
public sealed class GrpcServerOptions
{
    public const int DefaultMessageSizeBytes = 4 * 1024 * 1024;

    /// <summary>The upper bound for both message limits: larger messages have no place in a charging gateway.</summary>
    public const int MaxMessageSizeLimitBytes = 64 * 1024 * 1024;

    /// <summary>The largest request message accepted, checked on the declared length and after decompression.</summary>
    public int MaxReceiveMessageSizeBytes { get; set; } = DefaultMessageSizeBytes;

    /// <summary>The largest response message a handler may produce; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageSizeBytes { get; set; } = DefaultMessageSizeBytes;

    /// <summary>Every problem with these settings, each naming the setting under the given section path.</summary>
    internal List<string> Validate(string sectionPath)
    {
        var prefix = string.IsNullOrEmpty(sectionPath) ? string.Empty : sectionPath + ":";
        var errors = new List<string>();
        CheckMessageSize(errors, prefix + nameof(MaxReceiveMessageSizeBytes), MaxReceiveMessageSizeBytes);
        CheckMessageSize(errors, prefix + nameof(MaxSendMessageSizeBytes), MaxSendMessageSizeBytes);
        return errors;
    }

    private static void CheckMessageSize(List<string> errors, string name, int value)
    {
        if (value is < 1 or > MaxMessageSizeLimitBytes)
        {
            errors.Add(string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"{name} must be between 1 and {MaxMessageSizeLimitBytes} bytes; it is {value}."));
        }
    }
}
