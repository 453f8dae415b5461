namespace CommsCredits.Grpc.Client.Internal;

using Google.Protobuf;

/// <summary>One parser per response type, made on first use.</summary>
internal static class MessageParserCache<T>
    where T : IMessage<T>, new()
{
    public static readonly MessageParser<T> Parser = new(static () => new T());
}
