namespace CommsCredits.Grpc.Server.Internal;

using System.Collections.Frozen;
using Microsoft.Extensions.Logging;

/// <summary>What every call of the server shares: the validated limits, the logger and the bound service names.</summary>
internal sealed class GrpcServerRuntime
{
    public const string LoggerCategory = "CommsCredits.Grpc.Server";

    public GrpcServerRuntime(GrpcServerOptions options, ILogger logger, IEnumerable<string> serviceNames, IEnumerable<IRpcExceptionMapper> exceptionMappers, IEnumerable<IRpcCallAuthorizer> callAuthorizers, IEnumerable<IRpcCallObserver>? callObservers = null)
    {
        var errors = options.Validate("Grpc");
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", errors));
        }

        MaxReceiveMessageSizeBytes = options.MaxReceiveMessageSizeBytes;
        MaxSendMessageSizeBytes = options.MaxSendMessageSizeBytes;
        Logger = logger;
        ServiceNames = serviceNames.ToFrozenSet(StringComparer.Ordinal);
        ExceptionMappers = [.. exceptionMappers];
        CallAuthorizers = [.. callAuthorizers];
        CallObservers = [.. callObservers ?? []];
    }

    public int MaxReceiveMessageSizeBytes { get; }

    public int MaxSendMessageSizeBytes { get; }

    public ILogger Logger { get; }

    /// <summary>Asked, in order, what an unexpected handler exception means for the client.</summary>
    public IReadOnlyList<IRpcExceptionMapper> ExceptionMappers { get; }

    /// <summary>Asked, in order, whether a call may reach its handler; empty when every call may.</summary>
    public IReadOnlyList<IRpcCallAuthorizer> CallAuthorizers { get; }

    /// <summary>Told of every request's end, in order; empty when nobody measures.</summary>
    public IReadOnlyList<IRpcCallObserver> CallObservers { get; }

    /// <summary>Full proto names of the bound services, to tell "unknown service" from "unknown method".</summary>
    public FrozenSet<string> ServiceNames { get; }
}
