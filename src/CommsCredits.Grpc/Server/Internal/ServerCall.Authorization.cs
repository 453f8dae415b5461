namespace CommsCredits.Grpc.Server.Internal;

using System.Runtime.ExceptionServices;
using Google.Protobuf;

/// <summary>Asking the registered <see cref="IRpcCallAuthorizer"/>s whether the call, and each streamed request, may proceed.</summary>
internal sealed partial class ServerCall
{
    /// <summary>
    /// Set once, by the handler's read, when a stream message is refused. One reference so that the dispatcher,
    /// which may read it while an abandoned handler is still running, sees all of it or nothing.
    /// </summary>
    private volatile StreamRefusal? streamRefusal;

    /// <summary>
    /// The outcome of a refused stream message, once one was refused. It decides the call's status whatever the
    /// handler did after its read threw: a handler that swallows the refusal must not turn it into success.
    /// </summary>
    public CallOutcome? StreamRefusalOutcome => streamRefusal?.Outcome;

    /// <summary>Runs every authorizer for the call before its handler; a refusal throws.</summary>
    public ValueTask AuthorizeCallAsync(IMessage? request)
    {
        var authorizers = method.Runtime.CallAuthorizers;
        return authorizers.Count switch
        {
            0 => ValueTask.CompletedTask,
            1 => authorizers[0].AuthorizeCallAsync(method.Descriptor, Context, request),
            _ => AuthorizeCallEachAsync(authorizers, request),
        };
    }

    /// <summary>
    /// Runs every authorizer on a streamed request message before the handler gets it. A refusal is remembered:
    /// it is thrown again by every later read and it becomes the call's outcome.
    /// </summary>
    public ValueTask AuthorizeStreamMessageAsync(IMessage message, long messageNumber) =>
        method.Runtime.CallAuthorizers.Count == 0 ? ValueTask.CompletedTask : AuthorizeStreamMessageEachAsync(message, messageNumber);

    /// <summary>Throws the refusal of an earlier stream message again, if there was one.</summary>
    public void ThrowIfStreamRefused() => streamRefusal?.Exception.Throw();

    /// <summary>
    /// Ends the request stream with this exception: every later read throws it again, and its status is the call's,
    /// whatever the handler does with it. The first failure wins.
    /// </summary>
    public void FailStream(Exception exception) =>
        streamRefusal ??= new StreamRefusal(MapFailure(exception), ExceptionDispatchInfo.Capture(exception));

    private async ValueTask AuthorizeStreamMessageEachAsync(IMessage message, long messageNumber)
    {
        try
        {
            foreach (var authorizer in method.Runtime.CallAuthorizers)
            {
                await authorizer.AuthorizeStreamMessageAsync(method.Descriptor, Context, message, messageNumber).ConfigureAwait(false);
            }
        }
        catch (Exception exception)
        {
            FailStream(exception);
            throw;
        }
    }

    private async ValueTask AuthorizeCallEachAsync(IReadOnlyList<IRpcCallAuthorizer> authorizers, IMessage? request)
    {
        foreach (var authorizer in authorizers)
        {
            await authorizer.AuthorizeCallAsync(method.Descriptor, Context, request).ConfigureAwait(false);
        }
    }

    private sealed record StreamRefusal(CallOutcome Outcome, ExceptionDispatchInfo Exception);
}
