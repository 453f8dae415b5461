namespace CommsCredits.Gateway.Api;

using CommsCredits.Gateway.Storage;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using Npgsql;

/// <summary>
/// Storage failures become UNAVAILABLE, for every handler at once: the request was not acknowledged and may be
/// retried as it is. Anything else unexpected stays UNKNOWN (the transport logs it as a handler bug).
/// </summary>
public sealed class StorageExceptionMapper : IRpcExceptionMapper
{
    public bool TryMap(Exception exception, out Status status)
    {
        switch (exception)
        {
            case StorageUnavailableException:
                status = new Status(StatusCode.Unavailable, exception.Message);
                return true;
            case NpgsqlException { IsTransient: true }:
                status = new Status(StatusCode.Unavailable, "PostgreSQL is unavailable: " + exception.Message);
                return true;
            default:
                status = default;
                return false;
        }
    }
}
