namespace CommsCredits.Chaos;

/// <summary>The chaos run could not be set up (bad settings, a server that would not start): not a finding about the gateway.</summary>
public sealed class ChaosSetupException : Exception
{
    public ChaosSetupException()
    {
    }

    public ChaosSetupException(string message)
        : base(message)
    {
    }

    public ChaosSetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
