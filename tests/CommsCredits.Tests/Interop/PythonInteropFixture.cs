namespace CommsCredits.Tests.Interop;

using System.Diagnostics;
using System.Text.Json;
using CommsCredits.Tests.Transport;
using CommsCredits.Tests.Transport.Echo;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Xunit;

/// <summary>
/// Runs the Python interop client (Debian's python3-grpcio) once against a real server and keeps its results,
/// one per case. The echo messages for Python are generated at test time by Debian's protoc from the
/// descriptor compiled into this assembly, so the two sides cannot drift apart. A missing prerequisite fails
/// every interop test with what to install; nothing is skipped.
/// </summary>
public sealed class PythonInteropFixture : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";
    private const string Protoc = "/usr/bin/protoc";
    private const string InstallHint = "install them with: apt-get install python3-grpcio python3-protobuf protobuf-compiler";
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

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
        await CheckPrerequisitesAsync();
        await Server.InitializeAsync();
        workDirectory = Directory.CreateTempSubdirectory("commscredits-interop-").FullName;
        var messagesModule = await GenerateMessagesAsync(workDirectory);
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "grpc_interop_client.py");
        var (exitCode, output, errors) = await RunAsync(Python, [script, Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), messagesModule]);
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

    private static async Task CheckPrerequisitesAsync()
    {
        if (!File.Exists(Python) || !File.Exists(Protoc))
        {
            throw new InvalidOperationException($"the interop tests need {Python} and {Protoc}; {InstallHint}");
        }

        var (exitCode, _, errors) = await RunAsync(Python, ["-c", "import grpc, google.protobuf"]);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{Python} cannot import grpc and google.protobuf ({errors.Trim()}); {InstallHint}");
        }
    }

    /// <summary>Writes the echo descriptor as a FileDescriptorSet and has Debian's protoc generate echo_pb2.py.</summary>
    private static async Task<string> GenerateMessagesAsync(string directory)
    {
        var file = EchoReflection.Descriptor;
        var set = new FileDescriptorSet { File = { FileDescriptorProto.Parser.ParseFrom(file.SerializedData) } };
        var setPath = Path.Combine(directory, "echo.pb");
        await File.WriteAllBytesAsync(setPath, set.ToByteArray());
        var (exitCode, _, errors) = await RunAsync(Protoc, ["--descriptor_set_in=" + setPath, "--python_out=" + directory, file.Name]);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{Protoc} failed to generate the Python messages: {errors}");
        }

        return Path.Combine(directory, Path.ChangeExtension(file.Name, null) + "_pb2.py");
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var variable in new[] { "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "grpc_proxy" })
        {
            start.Environment.Remove(variable);
        }

        start.Environment["no_proxy"] = "127.0.0.1,localhost";
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + program);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ProcessTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException exception)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within {ProcessTimeout}: {await errors}", exception);
        }

        return (process.ExitCode, await output, await errors);
    }
}
