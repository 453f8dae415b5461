namespace CommsCredits.Tests.Transport;

using System.Collections.Concurrent;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using CommsCredits.Tests.Transport.Echo;
using Google.Protobuf;

/// <summary>What the echo handlers saw, per call id, so tests can check the server side of a call.</summary>
public sealed class EchoObservations
{
    private readonly ConcurrentDictionary<string, CallObservation> calls = new(StringComparer.Ordinal);

    public CallObservation For(string callId) => calls.GetOrAdd(callId, static _ => new CallObservation());

    public sealed class CallObservation
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The call's CancellationToken fired (deadline or client cancellation).</summary>
        public TaskCompletionSource TokenCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The handler saw the cancellation through an OperationCanceledException and gave up.</summary>
        public TaskCompletionSource GaveUp { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The handler ran to its end (for a handler that ignores its token: after its call ended).</summary>
        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The echo service: each request's knobs decide what the handler does.</summary>
public sealed class EchoTestService(EchoObservations observations)
{
    public const string ServiceName = "commscredits.testing.v1.EchoService";
    public const string UnaryMethod = "/" + ServiceName + "/Unary";
    public const string ServerStreamMethod = "/" + ServiceName + "/ServerStream";
    public const string ClientStreamMethod = "/" + ServiceName + "/ClientStream";
    public const string BidiMethod = "/" + ServiceName + "/Bidi";

    public async Task<EchoResponse> Unary(EchoRequest request, ServerCallContext context)
    {
        var observation = Start(request, context);
        // The handler names its call for the transport's log lines about its end, as a service names its session.
        context.LogScope = request.Text.Length > 0 ? "echo:" + request.Text : null;
        EchoMetadata(request, context);
        await DelayAsync(request, context, observation);
        FailIfAsked(request);
        observation?.Finished.TrySetResult();
        return Respond(request, context, index: 0);
    }

    public async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
    {
        var observation = Start(request, context);
        EchoMetadata(request, context);
        for (var index = 0; index < request.ResponseCount; index++)
        {
            await DelayAsync(request, context, observation);
            await responses.WriteAsync(Respond(request, context, index), context.CancellationToken);
        }

        FailIfAsked(request);
        observation?.Finished.TrySetResult();
    }

    public async Task<EchoResponse> ClientStream(IAsyncStreamReader<EchoRequest> requests, ServerCallContext context)
    {
        var texts = new List<string>();
        await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
        {
            Start(request, context);
            FailIfAsked(request);
            texts.Add(request.Text);
        }

        return new EchoResponse { Text = string.Join(",", texts), Index = texts.Count };
    }

    public async Task Bidi(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
    {
        var index = 0;
        while (await requests.MoveNext(context.CancellationToken))
        {
            var request = requests.Current;
            var observation = Start(request, context);
            await DelayAsync(request, context, observation);
            FailIfAsked(request);
            await responses.WriteAsync(Respond(request, context, index++), context.CancellationToken);
        }
    }

    private static EchoResponse Respond(EchoRequest request, ServerCallContext context, int index)
    {
        var payload = new byte[request.ResponseSizeBytes];
        for (var position = 0; position < payload.Length; position++)
        {
            payload[position] = (byte)(position % 251);
        }

        var response = new EchoResponse { Text = request.Text, Index = index, Payload = ByteString.CopyFrom(payload), Peer = context.Peer };
        foreach (var entry in context.RequestHeaders)
        {
            response.RequestMetadataKeys.Add(entry.Key);
        }

        return response;
    }

    private static void EchoMetadata(EchoRequest request, ServerCallContext context)
    {
        if (!request.EchoMetadata)
        {
            return;
        }

        foreach (var entry in context.RequestHeaders)
        {
            if (!entry.Key.StartsWith("echo-", StringComparison.Ordinal))
            {
                continue;
            }

            if (entry.IsBinary)
            {
                context.ResponseHeaders.Add(entry.Key, entry.ValueBytes);
                context.ResponseTrailers.Add("trailer-" + entry.Key, entry.ValueBytes);
            }
            else
            {
                context.ResponseHeaders.Add(entry.Key, entry.Value);
                context.ResponseTrailers.Add("trailer-" + entry.Key, entry.Value);
            }
        }
    }

    private static void FailIfAsked(EchoRequest request)
    {
        if (request.FailCode != 0)
        {
            throw new RpcException(
                new Status((StatusCode)request.FailCode, request.FailMessage),
                new Metadata().Add("failure-detail", "from-handler"));
        }

        if (request.ThrowMessage.Length > 0)
        {
            throw new InvalidOperationException(request.ThrowMessage);
        }

        if (request.DependencyDownMessage.Length > 0)
        {
            throw new EchoDependencyDownException(request.DependencyDownMessage);
        }
    }

    private static async Task DelayAsync(EchoRequest request, ServerCallContext context, EchoObservations.CallObservation? observation)
    {
        if (request.DelayMs <= 0)
        {
            return;
        }

        if (!request.ObserveCancellation)
        {
            await Task.Delay(request.DelayMs, CancellationToken.None);
            return;
        }

        try
        {
            await Task.Delay(request.DelayMs, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            observation?.GaveUp.TrySetResult();
            throw;
        }
    }

    private EchoObservations.CallObservation? Start(EchoRequest request, ServerCallContext context)
    {
        if (request.CallId.Length == 0)
        {
            return null;
        }

        var observation = observations.For(request.CallId);
        context.CancellationToken.Register(static state => ((EchoObservations.CallObservation)state!).TokenCancelled.TrySetResult(), observation);
        observation.Started.TrySetResult();
        return observation;
    }
}
