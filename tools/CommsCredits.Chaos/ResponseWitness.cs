namespace CommsCredits.Chaos;

using System.Net;

/// <summary>
/// Tells whether a failed request got any HTTP response from the gateway: a gRPC status the gateway sent (UNAVAILABLE:
/// Redis is unreachable, say) is a refusal, while a failure before any response (a connection reset, a GOAWAY that
/// dropped the stream) means the request was broken off. Our gRPC client maps both to an RpcException, so the handler
/// under it notes each response in a box the caller put in <see cref="Current"/> before the call.
/// </summary>
public sealed class ResponseWitness : DelegatingHandler
{
    private static readonly AsyncLocal<StrongBox> CurrentBox = new();

    public ResponseWitness()
        : base(new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(1),
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
        })
    {
    }

    /// <summary>Starts watching the calls of this asynchronous flow; the returned box says whether a response came.</summary>
    public static StrongBox Watch()
    {
        var box = new StrongBox();
        CurrentBox.Value = box;
        return box;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var box = CurrentBox.Value;
        var response = await base.SendAsync(request, cancellationToken);
        box?.Set();
        return response;
    }

    public sealed class StrongBox
    {
        private int seen;

        public bool ResponseSeen => Volatile.Read(ref seen) == 1;

        public void Set() => Volatile.Write(ref seen, 1);
    }
}
