namespace CommsCredits.Gateway.Reflection;

using CommsCredits.Gateway.Charging;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Grpc.Server;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using global::Grpc.Reflection.V1;

/// <summary>
/// grpc.reflection.v1.ServerReflection, so that grpcurl and the like can list the services and call them without the
/// protos: the services served (<see cref="ServedServices"/>), and the descriptor files that define them and their
/// messages, each with the files it depends on (all of them, so a client can build its descriptor pool from one
/// answer). A name that is not here gets an error response (NOT_FOUND) on the stream, which goes on.
/// </summary>
public sealed class ReflectionService
{
    /// <summary>The most requests one stream may make; a client that needs more opens another.</summary>
    public const int MaxRequestsPerStream = 10_000;

    private readonly IReadOnlyList<string> serviceNames;
    private readonly Dictionary<string, FileDescriptor> filesByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileDescriptor> filesBySymbol = new(StringComparer.Ordinal);
    private readonly HashSet<string> messageTypes = new(StringComparer.Ordinal);

    public ReflectionService(ServedServices served)
    {
        serviceNames = served.Descriptors.Select(service => service.FullName).ToArray();
        foreach (var service in served.Descriptors)
        {
            Add(service.File);
        }
    }

    public async Task ServerReflectionInfo(
        IAsyncStreamReader<ServerReflectionRequest> requests, IServerStreamWriter<ServerReflectionResponse> responses, ServerCallContext context)
    {
        var count = 0;
        await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
        {
            if (++count > MaxRequestsPerStream)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"more than {MaxRequestsPerStream} reflection requests on one stream"));
            }

            await responses.WriteAsync(Answer(request), context.CancellationToken);
        }
    }

    /// <summary>The response to one request.</summary>
    public ServerReflectionResponse Answer(ServerReflectionRequest request)
    {
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                response.ListServicesResponse = new ListServiceResponse();
                response.ListServicesResponse.Service.AddRange(serviceNames.Select(name => new ServiceResponse { Name = name }));
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                Files(response, filesByName.GetValueOrDefault(request.FileByFilename), $"no file '{EchoedText.Shorten(request.FileByFilename, 200)}'");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                Files(response, filesBySymbol.GetValueOrDefault(request.FileContainingSymbol), $"no symbol '{EchoedText.Shorten(request.FileContainingSymbol, 200)}'");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension:
                // Our protos are proto3, which has no extensions (custom options aside, which we do not define).
                Error(response, StatusCode.NotFound, $"no extension {request.FileContainingExtension.ExtensionNumber} of '{EchoedText.Shorten(request.FileContainingExtension.ContainingType, 200)}'");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                if (messageTypes.Contains(request.AllExtensionNumbersOfType))
                {
                    response.AllExtensionNumbersResponse = new ExtensionNumberResponse { BaseTypeName = request.AllExtensionNumbersOfType };
                }
                else
                {
                    Error(response, StatusCode.NotFound, $"no message type '{EchoedText.Shorten(request.AllExtensionNumbersOfType, 200)}'");
                }

                break;
            default:
                Error(response, StatusCode.InvalidArgument, "the request asks for nothing (message_request is not set)");
                break;
        }

        return response;
    }

    private static void Files(ServerReflectionResponse response, FileDescriptor? file, string notFound)
    {
        if (file is null)
        {
            Error(response, StatusCode.NotFound, notFound);
            return;
        }

        response.FileDescriptorResponse = new FileDescriptorResponse();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<FileDescriptor>([file]);
        while (pending.TryDequeue(out var next))
        {
            if (seen.Add(next.Name))
            {
                response.FileDescriptorResponse.FileDescriptorProto.Add(next.SerializedData);
                foreach (var dependency in next.Dependencies)
                {
                    pending.Enqueue(dependency);
                }
            }
        }
    }

    private static void Error(ServerReflectionResponse response, StatusCode code, string message) =>
        response.ErrorResponse = new ErrorResponse { ErrorCode = (int)code, ErrorMessage = message };

    private void Add(FileDescriptor file)
    {
        if (!filesByName.TryAdd(file.Name, file))
        {
            return;
        }

        foreach (var service in file.Services)
        {
            filesBySymbol[service.FullName] = file;
            foreach (var method in service.Methods)
            {
                filesBySymbol[method.FullName] = file;
            }
        }

        foreach (var message in file.MessageTypes)
        {
            AddMessage(file, message);
        }

        foreach (var enumeration in file.EnumTypes)
        {
            filesBySymbol[enumeration.FullName] = file;
        }

        foreach (var dependency in file.Dependencies)
        {
            Add(dependency);
        }
    }

    private void AddMessage(FileDescriptor file, MessageDescriptor message)
    {
        filesBySymbol[message.FullName] = file;
        messageTypes.Add(message.FullName);
        foreach (var nested in message.NestedTypes)
        {
            AddMessage(file, nested);
        }

        foreach (var enumeration in message.EnumTypes)
        {
            filesBySymbol[enumeration.FullName] = file;
        }
    }
}
