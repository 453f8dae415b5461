namespace CommsCredits.Tests.Interop;

using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.Reflection;

/// <summary>
/// Debian's python3-grpcio and protoc, for clients that are not ours. A missing prerequisite fails the test with what
/// to install; nothing is skipped.
/// </summary>
public static class PythonTools
{
    public const string Python = "/usr/bin/python3";
    private const string Protoc = "/usr/bin/protoc";
    private const string InstallHint = "install them with: apt-get install python3-grpcio python3-protobuf protobuf-compiler";
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    public static async Task CheckPrerequisitesAsync()
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

    /// <summary>Writes a descriptor as a FileDescriptorSet and has Debian's protoc generate its _pb2.py; returns its path.</summary>
    public static async Task<string> GenerateMessagesAsync(FileDescriptor file, string directory)
    {
        var set = new FileDescriptorSet { File = { FileDescriptorProto.Parser.ParseFrom(file.SerializedData) } };
        var setPath = Path.Combine(directory, Path.GetFileNameWithoutExtension(file.Name) + ".pb");
        await File.WriteAllBytesAsync(setPath, set.ToByteArray());
        var (exitCode, _, errors) = await RunAsync(Protoc, ["--descriptor_set_in=" + setPath, "--python_out=" + directory, file.Name]);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{Protoc} failed to generate the Python messages: {errors}");
        }

        return Path.Combine(directory, Path.ChangeExtension(file.Name, null) + "_pb2.py");
    }

    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string program, IEnumerable<string> arguments)
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
