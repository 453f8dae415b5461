namespace CommsCredits.Grpc.Internal;

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using CommsCredits.Grpc.Protocol;

/// <summary>Throw helpers for protocol errors; kept out of line so the hot paths stay small.</summary>
internal static class GrpcErrors
{
    [DoesNotReturn]
    public static void Throw(StatusCode code, string detail) => throw new RpcException(new Status(code, detail));

    [DoesNotReturn]
    public static void ThrowMessageTooLarge(string direction, long sizeBytes, int limitBytes) =>
        throw new RpcException(new Status(
            StatusCode.ResourceExhausted,
            string.Create(
                CultureInfo.InvariantCulture,
                $"{direction} message of {sizeBytes} bytes is larger than the limit of {limitBytes} bytes")));

    [DoesNotReturn]
    public static void ThrowIncompleteMessage(string direction) =>
        throw new RpcException(new Status(StatusCode.Internal, $"incomplete {direction} message: the stream ended inside it"));

    [DoesNotReturn]
    public static void ThrowUnparseable(string direction, string reason) =>
        throw new RpcException(new Status(
            StatusCode.Internal,
            $"failed to parse {direction} message: {reason}"));
}
