namespace CommsCredits.Gateway.Api;

using CommsCredits.Gateway.Storage;
using CommsCredits.Grpc.Protocol;
using Npgsql;

/// <summary>
/// Turns storage failures into UNAVAILABLE: the request was not acknowledged and may be retried as it is. Anything
/// else unexpected is left to the transport, which answers UNKNOWN and logs it.
/// </summary>
public static class StorageErrors
{
    public static async Task<T> Map<T>(Task<T> work)
    {
        try
        {
            return await work;
        }
        catch (StorageUnavailableException exception)
        {
            throw Unavailable(exception.Message);
        }
        catch (NpgsqlException exception) when (exception.IsTransient)
        {
            throw Unavailable("PostgreSQL is unavailable: " + exception.Message);
        }
    }

    private static RpcException Unavailable(string message) => new(new Status(StatusCode.Unavailable, message));
}
