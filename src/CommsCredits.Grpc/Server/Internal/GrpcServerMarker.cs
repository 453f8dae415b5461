namespace CommsCredits.Grpc.Server.Internal;

/// <summary>Registered by AddGrpcServer, so that MapGrpcServices can tell the server was not added.</summary>
internal sealed class GrpcServerMarker;
