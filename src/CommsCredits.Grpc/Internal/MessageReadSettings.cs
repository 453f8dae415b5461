namespace CommsCredits.Grpc.Internal;

/// <summary>What a message reader enforces and needs for one direction of one call.</summary>
/// <param name="MaxMessageSizeBytes">The largest message accepted, compressed and decompressed.</param>
/// <param name="Encoding">The grpc-encoding the peer declared, or null.</param>
/// <param name="Direction">"request" or "response", for error messages.</param>
/// <param name="UnsupportedEncodingCode">
/// The status for a message compressed with an encoding we lack: UNIMPLEMENTED on a server, INTERNAL on a
/// client (compression.md).
/// </param>
internal readonly record struct MessageReadSettings(
    int MaxMessageSizeBytes,
    string? Encoding,
    string Direction,
    Protocol.StatusCode UnsupportedEncodingCode);
