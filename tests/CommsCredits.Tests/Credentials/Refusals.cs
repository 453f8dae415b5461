namespace CommsCredits.Tests.Credentials;

using CommsCredits.Grpc.Protocol;

/// <summary>Waiting for a revoked key to be refused.</summary>
public static class Refusals
{
    /// <summary>Far above the 1 s check interval and the notification delay; a failure means revocation does not work.</summary>
    public static readonly TimeSpan RevocationWithin = TimeSpan.FromSeconds(10);

    /// <summary>Repeats the call until it is UNAUTHENTICATED; fails if it is still accepted after <see cref="RevocationWithin"/>.</summary>
    public static async Task UnauthenticatedSoonAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + RevocationWithin;
        while (true)
        {
            try
            {
                await call();
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.Unauthenticated)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"the revoked key was still accepted after {RevocationWithin}");
            }

            await Task.Delay(50);
        }
    }
}
