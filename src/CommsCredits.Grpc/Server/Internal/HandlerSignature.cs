namespace CommsCredits.Grpc.Server.Internal;

using System.Reflection;
using Google.Protobuf.Reflection;

/// <summary>
/// The handler method a service class must have for one proto method: its name, parameter types and return
/// type follow from the method's streaming flags and the generated message types of its input and output.
/// </summary>
internal sealed class HandlerSignature
{
    private HandlerSignature(MethodDescriptor method, MethodShape shape, Type[] parameterTypes, Type returnType)
    {
        Method = method;
        Shape = shape;
        ParameterTypes = parameterTypes;
        ReturnType = returnType;
    }

    public MethodDescriptor Method { get; }

    public MethodShape Shape { get; }

    public Type[] ParameterTypes { get; }

    public Type ReturnType { get; }

    public static MethodShape ShapeOf(MethodDescriptor method) => (method.IsClientStreaming, method.IsServerStreaming) switch
    {
        (false, false) => MethodShape.Unary,
        (false, true) => MethodShape.ServerStreaming,
        (true, false) => MethodShape.ClientStreaming,
        (true, true) => MethodShape.DuplexStreaming,
    };

    public static HandlerSignature For(MethodDescriptor method, Type requestType, Type responseType)
    {
        var context = typeof(ServerCallContext);
        var writer = typeof(IServerStreamWriter<>).MakeGenericType(responseType);
        var reader = typeof(IAsyncStreamReader<>).MakeGenericType(requestType);
        var responseTask = typeof(Task<>).MakeGenericType(responseType);
        var shape = ShapeOf(method);
        return shape switch
        {
            MethodShape.Unary => new(method, shape, [requestType, context], responseTask),
            MethodShape.ServerStreaming => new(method, shape, [requestType, writer, context], typeof(Task)),
            MethodShape.ClientStreaming => new(method, shape, [reader, context], responseTask),
            _ => new(method, shape, [reader, writer, context], typeof(Task)),
        };
    }

    public bool Matches(MethodInfo candidate)
    {
        if (candidate.IsStatic || candidate.IsGenericMethodDefinition || candidate.ReturnType != ReturnType)
        {
            return false;
        }

        var parameters = candidate.GetParameters();
        if (parameters.Length != ParameterTypes.Length)
        {
            return false;
        }

        for (var index = 0; index < parameters.Length; index++)
        {
            if (parameters[index].ParameterType != ParameterTypes[index] || parameters[index].IsOut)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The expected declaration, as C#, for start-up error messages.</summary>
    public string Describe()
    {
        var names = Shape switch
        {
            MethodShape.Unary => new[] { "request", "context" },
            MethodShape.ServerStreaming => ["request", "responses", "context"],
            MethodShape.ClientStreaming => ["requests", "context"],
            _ => ["requests", "responses", "context"],
        };
        var parameters = new string[ParameterTypes.Length];
        for (var index = 0; index < parameters.Length; index++)
        {
            parameters[index] = TypeName(ParameterTypes[index]) + " " + names[index];
        }

        return $"public {TypeName(ReturnType)} {Method.Name}({string.Join(", ", parameters)})";
    }

    private static string TypeName(Type type)
    {
        if (!type.IsGenericType)
        {
            return type.Name;
        }

        var name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
        var arguments = Array.ConvertAll(type.GetGenericArguments(), TypeName);
        return $"{name}<{string.Join(", ", arguments)}>";
    }
}
