namespace CommsCredits.Tests.Interop;

using System.Text.Json;
using CommsCredits.Tests.Transport;
using CommsCredits.Tests.Transport.Echo;
using Xunit;

/// <summary>
/// Runs the Python interop client (Debian's python3-grpcio) once against a real server and keeps its results,
/// one per case. The echo messages for Python are generated at test time by Debian's protoc from the
/// descriptor compiled into this assembly, so the two sides cannot drift apart. A missing prerequisite fails
/// every interop test with what to install; nothing is skipped.
/// </summary>
public sealed class PythonInteropFixture : IAsyncLifetime
{
    private readonly Dictionary<string, JsonElement> results = new(StringComparer.Ordinal);
    private string? workDirectory;

    public GrpcServerFixture Server { get; } = new();

    public string Output { get; private set; } = string.Empty;

    public JsonElement Case(string name) =>
        results.TryGetValue(name, out var result)
            ? result
            : throw new Xunit.Sdk.XunitException($"the interop client printed no result for '{name}'. Output:\n{Output}");

    public async Task InitializeAsync()
    {
        await PythonTools.CheckPrerequisitesAsync();
        await Server.InitializeAsync();
        workDirectory = Directory.CreateTempSubdirectory("commscredits-interop-").FullName;
        var messagesModule = await PythonTools.GenerateMessagesAsync(EchoReflection.Descriptor, workDirectory);
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "grpc_interop_client.py");
        var (exitCode, output, errors) = await PythonTools.RunAsync(PythonTools.Python, [script, Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), messagesModule]);
        Output = output + errors;
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"the Python interop client exited with {exitCode}:\n{Output}");
        }

        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var result = JsonDocument.Parse(line).RootElement.Clone();
            results[result.GetProperty("case").GetString()!] = result;
        }
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        if (workDirectory is not null)
        {
            Directory.Delete(workDirectory, recursive: true);
        }
    }
}
