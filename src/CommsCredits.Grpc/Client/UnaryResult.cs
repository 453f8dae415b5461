namespace CommsCredits.Grpc.Client;

using CommsCredits.Grpc.Protocol;

/// <summary>The response of a successful unary call with the metadata the server sent around it.</summary>
public readonly record struct UnaryResult<TResponse>(TResponse Response, Metadata ResponseHeaders, Metadata Trailers);
