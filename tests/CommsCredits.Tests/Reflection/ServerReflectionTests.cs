namespace CommsCredits.Tests.Reflection;

using System.Globalization;
using System.Text.Json;
using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Interop;
using Shouldly;
using Xunit;
using static CommsCredits.Tests.Charging.GatewayInstance;

/// <summary>
/// grpc.reflection.v1.ServerReflection, driven by a client that has none of our protos (Interop/grpc_reflection_client.py
/// on Debian's python3-grpcio, in the manner of grpcurl): it lists, fetches by symbol and by name, and calls methods
/// with messages built from the descriptors it was sent.
/// </summary>
public sealed class ServerReflectionTests
{
    [Fact]
    public async Task A_client_without_our_protos_lists_the_services_fetches_their_files_and_calls_them()
    {
        // Proves what grpcurl needs: every served service is listed; a symbol (a service, a method) and a file name each
        // give the defining file with all its dependencies, enough to build a descriptor pool; unknown names give an
        // error response (NOT_FOUND) on a stream that goes on; and calls built from those descriptors work (Health/Check
        // without a key, Charging/CheckBalance with the network-element key).
        await PythonTools.CheckPrerequisitesAsync();
        var gateway = await SharedGateway.GetAsync();
        var tenant = await gateway.CreateTenantAsync(7_000_000, Rate("44", 60_000, first: 60, next: 60));
        var directory = Directory.CreateTempSubdirectory("commscredits-reflection-").FullName;
        try
        {
            var module = await PythonTools.GenerateMessagesAsync(global::Grpc.Reflection.V1.ReflectionReflection.Descriptor, directory);
            var script = Path.Combine(AppContext.BaseDirectory, "Interop", "grpc_reflection_client.py");
            var (exitCode, output, errors) = await PythonTools.RunAsync(
                PythonTools.Python, [script, gateway.Address.Port.ToString(CultureInfo.InvariantCulture), module, tenant, gateway.NetworkElementKey]);
            exitCode.ShouldBe(0, output + errors);
            var cases = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => JsonDocument.Parse(line).RootElement.Clone())
                .ToDictionary(result => result.GetProperty("case").GetString()!, StringComparer.Ordinal);

            (cases["count"].GetProperty("responses").GetInt32(), cases["count"].GetProperty("requests").GetInt32()).ShouldBe((6, 6));
            Strings(cases["list"], "services").ShouldBe(
                ["commscredits.v1.Charging", "commscredits.v1.Accounts", "commscredits.v1.Directory", "commscredits.v1.Notifications", "commscredits.v1.Reports", "commscredits.v1.Balances",
                 "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"],
                ignoreOrder: true);
            Strings(cases["health_symbol"], "files").ShouldBe(["grpc/health/v1/health.proto"]);
            var charging = Strings(cases["method_symbol"], "files");
            charging[0].ShouldBe("commscredits/v1/charging.proto");
            charging.ShouldContain("commscredits/v1/common.proto", StringComparer.Ordinal);
            Strings(cases["by_name"], "files").ShouldBe(charging);
            foreach (var unknown in new[] { "unknown_symbol", "unknown_file" })
            {
                cases[unknown].GetProperty("code").GetInt32().ShouldBe(5);
                cases[unknown].GetProperty("message").GetString().ShouldNotBeNullOrEmpty();
            }

            cases["unknown_symbol"].GetProperty("original").GetString().ShouldBe("file_containing_symbol");
            cases["health_check"].GetProperty("status").GetString().ShouldBe("SERVING");
            (cases["check_balance"].GetProperty("amount_micros").GetInt64(), cases["check_balance"].GetProperty("currency").GetString()).ShouldBe((7_000_000L, "EUR"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string[] Strings(JsonElement result, string name) =>
        result.GetProperty(name).EnumerateArray().Select(item => item.GetString()!).ToArray();
}
