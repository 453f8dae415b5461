namespace CommsCredits.Grpc.Client;

using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using CommsCredits.Grpc.Client.Internal;
using CommsCredits.Grpc.Internal;
using CommsCredits.Grpc.Protocol;
using Google.Protobuf;

/// <summary>
/// A gRPC client over HttpClient's HTTP/2: "http://" addresses use h2c with prior knowledge, "https://" ones
/// TLS with ALPN h2. Thread-safe: one channel is meant to be shared by all calls to a server.
/// </summary>
public sealed partial class GrpcChannel : IDisposable
{
    private const string UserAgent = "grpc-dotnet-commscredits/1.0";

    /// <summary>Method paths are program constants; the bound only guards against a caller making them up.</summary>
    private const int MaxCachedMethodUris = 1024;

    private static readonly StreamPipeReaderOptions ResponseReaderOptions = new(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true);

    private readonly HttpMessageInvoker invoker;
    private readonly ConcurrentDictionary<string, Uri> methodUris = new(StringComparer.Ordinal);
    private readonly string addressPrefix;
    private readonly int maxReceiveMessageSizeBytes;
    private readonly int maxSendMessageSizeBytes;

    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        Address = address;
        addressPrefix = address.GetLeftPart(UriPartial.Authority) + address.AbsolutePath.TrimEnd('/');
        maxReceiveMessageSizeBytes = options.MaxReceiveMessageSizeBytes;
        maxSendMessageSizeBytes = options.MaxSendMessageSizeBytes;
        invoker = options.Handler is { } handler
            ? new HttpMessageInvoker(handler, disposeHandler: false)
            : new HttpMessageInvoker(CreateHandler(options), disposeHandler: true);
    }

    public Uri Address { get; }

    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.IsAbsoluteUri || (!string.Equals(address.Scheme, Uri.UriSchemeHttp, StringComparison.Ordinal) && !string.Equals(address.Scheme, Uri.UriSchemeHttps, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"gRPC address '{address}' must be an absolute http:// or https:// URI", nameof(address));
        }

        options ??= new GrpcChannelOptions();
        options.Validate();
        return new GrpcChannel(address, options);
    }

    /// <summary>Calls a unary method; a status other than OK throws <see cref="RpcException"/> with the trailers.</summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(string fullMethodName, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        var result = await UnaryCoreAsync<TRequest, TResponse>(fullMethodName, request, options, captureMetadata: false).ConfigureAwait(false);
        return result.Response;
    }

    /// <summary>Calls a unary method and returns the response headers and trailers with the response.</summary>
    public async Task<UnaryResult<TResponse>> UnaryWithMetadataAsync<TRequest, TResponse>(string fullMethodName, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        var (response, headers, trailers) = await UnaryCoreAsync<TRequest, TResponse>(fullMethodName, request, options, captureMetadata: true).ConfigureAwait(false);
        return new UnaryResult<TResponse>(response, headers!, trailers!);
    }

    /// <summary>
    /// Starts a server-streaming call. Enumerate the result for the responses; the status and trailers are
    /// known once the enumeration ends (a status other than OK is thrown from it). Dispose the call to cancel it.
    /// </summary>
    public ServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(string fullMethodName, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = new ClientCall(options, cancellable: true);
        try
        {
            var httpRequest = CreateRequest(fullMethodName, request, call, options.Headers);
            return new ServerStreamingCall<TResponse>(this, call, httpRequest, maxReceiveMessageSizeBytes);
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a client-streaming call: write the requests with <see cref="ClientStreamingCall{TRequest, TResponse}.WriteAsync"/>,
    /// end them with <see cref="ClientStreamingCall{TRequest, TResponse}.CompleteAsync"/>, then await the response. A server
    /// that ends the call early fails the next write with its status. Dispose the call to cancel it.
    /// </summary>
    public ClientStreamingCall<TRequest, TResponse> ClientStreaming<TRequest, TResponse>(string fullMethodName, CallOptions options = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        var call = new ClientCall(options, cancellable: true);
        var content = new StreamingRequestContent();
        try
        {
            var httpRequest = CreateRequest(fullMethodName, content, call, options.Headers);
            return new ClientStreamingCall<TRequest, TResponse>(this, call, httpRequest, content);
        }
        catch
        {
            content.Dispose();
            call.Dispose();
            throw;
        }
    }

    public void Dispose() => invoker.Dispose();

    internal static PipeReader CreateResponseReader(Stream stream) => PipeReader.Create(stream, ResponseReaderOptions);

    internal Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        invoker.SendAsync(request, cancellationToken);

    /// <summary>
    /// The HTTP/2 request of a call: POST to the method path with te: trailers, the deadline as grpc-timeout and
    /// the caller's metadata. Throws before anything is sent if the message is over the send limit.
    /// </summary>
    internal HttpRequestMessage CreateRequest(string fullMethodName, IMessage message, ClientCall call, Metadata? metadata)
    {
        var size = message.CalculateSize();
        ThrowIfTooLargeToSend(size);
        return CreateRequest(fullMethodName, new UnaryRequestContent(message, size), call, metadata);
    }

    /// <summary>The HTTP/2 request of a call whose request body is <paramref name="content"/>.</summary>
    internal HttpRequestMessage CreateRequest(string fullMethodName, HttpContent content, ClientCall call, Metadata? metadata)
    {
        call.ThrowIfDeadlineExpired();
        var request = new HttpRequestMessage(HttpMethod.Post, MethodUri(fullMethodName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation(GrpcProtocol.TeHeader, GrpcProtocol.TeTrailers);
        headers.TryAddWithoutValidation("User-Agent", UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.SupportedEncodings);
        if (call.Timeout is { } timeout)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(timeout));
        }

        AddMetadata(headers, metadata);
        return request;
    }

    /// <summary>Throws RESOURCE_EXHAUSTED, before anything is sent, for a request message over the send limit.</summary>
    internal void ThrowIfTooLargeToSend(int messageSizeBytes)
    {
        if (messageSizeBytes > maxSendMessageSizeBytes)
        {
            GrpcErrors.ThrowMessageTooLarge("request", messageSizeBytes, maxSendMessageSizeBytes);
        }
    }

    private static void AddMetadata(System.Net.Http.Headers.HttpRequestHeaders headers, Metadata? metadata)
    {
        if (metadata is null)
        {
            return;
        }

        foreach (var entry in metadata)
        {
            if (GrpcProtocol.IsReservedHeader(entry.Key))
            {
                throw new ArgumentException($"metadata key '{entry.Key}' is reserved by the gRPC protocol", nameof(metadata));
            }

            headers.TryAddWithoutValidation(entry.Key, entry.Value);
        }
    }

    private static SocketsHttpHandler CreateHandler(GrpcChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            MaxConnectionsPerServer = options.MaxConnections ?? int.MaxValue,
            ConnectTimeout = TimeSpan.FromMilliseconds(options.ConnectTimeoutMs),
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,

            // In KiB: PROTOCOL-HTTP2.md suggests 8 KiB per header block; 16 leaves room for generous trailers.
            MaxResponseHeadersLength = 16,
        };
        handler.SslOptions.ApplicationProtocols = [SslApplicationProtocol.Http2];
        if (options.AcceptAnyServerCertificate)
        {
            // Opt-in for development against self-signed certificates; documented as unsafe on the option.
#pragma warning disable CA5359
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }

        return handler;
    }

    private Uri MethodUri(string fullMethodName)
    {
        ArgumentException.ThrowIfNullOrEmpty(fullMethodName);
        if (methodUris.TryGetValue(fullMethodName, out var uri))
        {
            return uri;
        }

        if (fullMethodName[0] != '/' || fullMethodName.IndexOf('/', 1) < 0)
        {
            throw new ArgumentException($"method name '{fullMethodName}' must look like /package.Service/Method", nameof(fullMethodName));
        }

        uri = new Uri(addressPrefix + fullMethodName, UriKind.Absolute);
        if (methodUris.Count < MaxCachedMethodUris)
        {
            methodUris.TryAdd(fullMethodName, uri);
        }

        return uri;
    }
}
