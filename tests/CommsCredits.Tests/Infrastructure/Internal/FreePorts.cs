using System.Net;
using System.Net.Sockets;

namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>
/// Picks loopback ports that are free right now. Another process may still take one before our server
/// binds it, so callers retry on "address in use" with a fresh port.
/// </summary>
internal static class FreePorts
{
    // Bounds both the memory of ports handed out and the attempts to find one not handed out before.
    private const int RememberedPortCountMax = 4096;
    private const int AttemptCountMax = 64;

    private static readonly Lock HandedOutLock = new();
    private static readonly HashSet<int> HandedOut = [];

    public static int Pick()
    {
        for (var attempt = 0; attempt < AttemptCountMax; attempt++)
        {
            var port = AskKernelForFreePort();
            lock (HandedOutLock)
            {
                // The kernel may offer a port again once it is closed; two servers of this process must not get the same one.
                if (HandedOut.Count >= RememberedPortCountMax)
                {
                    HandedOut.Clear();
                }

                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException("No free loopback port was found in " + AttemptCountMax + " attempts.");
    }

    private static int AskKernelForFreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
