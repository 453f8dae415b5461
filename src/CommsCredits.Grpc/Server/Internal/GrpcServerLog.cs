namespace CommsCredits.Grpc.Server.Internal;

using CommsCredits.Grpc.Protocol;
using Microsoft.Extensions.Logging;

/// <summary>
/// The server's log events. Handler failures are errors; what a client did wrong is a protocol error and only
/// worth Debug, since a misbehaving client must not be able to flood our error logs.
/// </summary>
internal static partial class GrpcServerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "gRPC handler {Method} failed")]
    public static partial void HandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "gRPC handler {Method} failed after its call had ended (deadline or client cancellation)")]
    public static partial void AbandonedHandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "gRPC call {Method} rejected: {StatusCode} {Detail}")]
    public static partial void ProtocolError(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "gRPC call {Method} ended with {StatusCode} {Detail}")]
    public static partial void EndedWithStatus(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "gRPC call {Method} exceeded its deadline")]
    public static partial void DeadlineExceeded(ILogger logger, string method);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "gRPC call {Method} was cancelled by the client")]
    public static partial void ClientCancelled(ILogger logger, string method);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "gRPC request to {Path} refused with HTTP {HttpStatus}: {Reason}")]
    public static partial void RequestRefused(ILogger logger, string path, int httpStatus, string reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "gRPC handler {Method} set reserved or invalid metadata '{Key}'; it was not sent")]
    public static partial void ResponseMetadataIgnored(ILogger logger, string method, string key);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "gRPC handler {Method} produced a response of {SizeBytes} bytes, over the limit of {LimitBytes} bytes")]
    public static partial void ResponseTooLarge(ILogger logger, string method, int sizeBytes, int limitBytes);
}
