namespace CommsCredits.Grpc.Protocol;

/// <summary>The outcome of a call: a status code and a message for people (sent as grpc-message).</summary>
public readonly record struct Status(StatusCode Code, string Detail)
{
    public static Status Ok { get; } = new(StatusCode.OK, string.Empty);

    public override string ToString() => $"{Code}: {Detail}";
}
