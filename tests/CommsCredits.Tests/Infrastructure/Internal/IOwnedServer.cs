namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>A server that must not outlive the test process.</summary>
internal interface IOwnedServer
{
    /// <summary>Signals the server to stop at once; must return quickly (the runner may kill the test host soon after).</summary>
    void SignalStopAtExit();

    /// <summary>Waits, at most until the deadline, for a signalled server to be gone.</summary>
    void WaitForStopAtExit(DateTime deadlineUtc);
}
