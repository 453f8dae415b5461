namespace CommsCredits.Tests.Fuzzing;

using System.Collections.Concurrent;
using Google.Protobuf;
using Xunit;
using Xunit.Abstractions;

/// <summary>
/// Every method of every service gets random bytes, mutated valid requests and valid requests with random field
/// values, with the right key, a key of the wrong role, a malformed key or none. Every answer must be a valid
/// gRPC status (never UNKNOWN, never exception text), the gateway must log no error and still serve a valid call.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class PayloadFuzzTests(FuzzGatewayFixture fixture, ITestOutputHelper output)
{
    /// <summary>Requests in flight at once: enough to overlap calls on the 2-core machine without starving other tests.</summary>
    private const int Parallelism = 4;

    /// <summary>Random payloads are at most this long (framed or not).</summary>
    private const int MaxRandomBytes = 256;

    [Fact]
    public Task Random_bytes_get_a_valid_status_on_every_method() => RunAsync("random-bytes", (method, random) =>
    {
        var payload = RandomMessages.RandomBytes(random, random.Next(0, MaxRandomBytes + 1));
        // Half are not even framed: the body itself is random.
        return random.Next(2) == 0 ? (payload, "unframed") : (FuzzProbe.Frame(payload), "framed");
    });

    [Fact]
    public Task Mutated_requests_get_a_valid_status_on_every_method() => RunAsync("mutated", (method, random) =>
    {
        var (messages, names) = Messages(method, random, mutate: true);
        return (messages, names);
    });

    [Fact]
    public Task Requests_with_random_field_values_get_a_valid_status_on_every_method() => RunAsync("random-values", (method, random) =>
        Messages(method, random, mutate: false));

    /// <summary>One framed request message (or one to three for a client stream), mutated or not.</summary>
    private (byte[] Body, string Description) Messages(FuzzMethod method, Random random, bool mutate)
    {
        var count = method.Method.IsClientStreaming ? random.Next(1, 4) : 1;
        var body = new List<byte>();
        var names = new List<string>();
        for (var index = 0; index < count; index++)
        {
            var bytes = RandomMessages.Create(method.Method.InputType, random, fixture.TenantId).ToByteArray();
            if (mutate)
            {
                (bytes, var name) = Mutations.Mutate(bytes, random);
                names.Add(name);
            }

            body.AddRange(FuzzProbe.Frame(bytes));
        }

        return ([.. body], string.Join(";", names));
    }

    private async Task RunAsync(string kind, Func<FuzzMethod, Random, (byte[] Body, string Description)> build)
    {
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var cases = fixture.Methods.SelectMany(method => Enumerable.Range(0, FuzzSettings.Iterations).Select(number => (method, number))).ToList();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (item, _) =>
        {
            var random = FuzzSettings.ForCase(kind + item.method.Path, item.number);
            var (authorization, keyKind) = Authorization(item.method, random);
            var (body, description) = build(item.method, random);
            var contentType = random.Next(4) == 0 ? "application/grpc+proto" : "application/grpc";
            var answer = await FuzzProbe.SendAsync(fixture.Raw, item.method.Path, body, authorization, contentType, item.method.Headers);
            statuses.AddOrUpdate(answer.GrpcStatus ?? "none", 1, (_, count) => count + 1);
            if (FuzzProbe.Problem(answer, item.method.Method.OutputType, item.method.Method.IsServerStreaming) is { } problem)
            {
                failures.Enqueue($"{item.method.Path} case {item.number} ({kind}, {keyKind}, {description}): {problem}; body {FuzzProbe.Hex(body)}");
            }
        });

        // What the answers were, so a run that never got past parsing or authentication shows in the test output.
        output.WriteLine($"{kind}: {cases.Count} requests ({FuzzSettings.Replay}); grpc-status counts: "
            + string.Join(", ", statuses.OrderBy(entry => entry.Key, StringComparer.Ordinal).Select(entry => $"{entry.Key}={entry.Value}")));
        await fixture.ShouldStillServeAsync();
        if (!failures.IsEmpty)
        {
            throw new Xunit.Sdk.XunitException(
                $"{failures.Count} of {cases.Count} {kind} requests got a bad answer ({FuzzSettings.Replay}):\n" + string.Join("\n", failures.Take(15))
                + "\nthe gateway's error logs:\n" + string.Join("\n", fixture.Gateway.Errors.Entries.Take(5)));
        }

        fixture.ShouldHaveNoErrorLogs();
    }

    /// <summary>Mostly the right key, so requests reach the handlers; sometimes the wrong role, a malformed key or none.</summary>
    private static (string? Header, string Kind) Authorization(FuzzMethod method, Random random) => random.Next(20) switch
    {
        0 => (null, "no key"),
        1 => ("Bearer " + method.WrongRoleKey, "wrong-role key"),
        2 => ("Bearer cck_" + Convert.ToHexString(RandomMessages.RandomBytes(random, 8)) + "_x", "unknown key"),
        3 => ("Basic " + method.Key, "wrong scheme"),
        _ => ("Bearer " + method.Key, "right key"),
    };
}

/// <summary>The fuzz tests share one gateway and run one class at a time.</summary>
[CollectionDefinition(Name)]
public sealed class FuzzCollection : ICollectionFixture<FuzzGatewayFixture>
{
    public const string Name = "Fuzzing";
}
