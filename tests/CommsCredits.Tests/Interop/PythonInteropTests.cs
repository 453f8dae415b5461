namespace CommsCredits.Tests.Interop;

using System.Text.Json;
using CommsCredits.Tests.Transport;
using Shouldly;
using Xunit;

/// <summary>
/// Our server against a gRPC client we did not write: Debian's python3-grpcio (gRPC C-core). Each test checks
/// one case of Interop/grpc_interop_client.py.
/// </summary>
public sealed class PythonInteropTests(PythonInteropFixture interop) : IClassFixture<PythonInteropFixture>
{
    [Fact]
    public void Unary_call_succeeds()
    {
        // Proves a C-core client completes a unary call: our framing, headers and OK trailers are what it expects.
        var result = interop.Case("unary_ok");
        Code(result).ShouldBe("OK");
        result.GetProperty("text").GetString().ShouldBe("hello from python");
    }

    [Fact]
    public void Application_error_arrives_with_its_code_decoded_message_and_trailers()
    {
        // Proves C-core reads our status, percent-decodes our grpc-message (non-ASCII and '%') to the original,
        // and sees the error's trailers.
        var result = interop.Case("application_error");
        Code(result).ShouldBe("FAILED_PRECONDITION");
        result.GetProperty("details").GetString().ShouldBe("crédit épuisé: 5 € < 10 € (100%)");
        result.GetProperty("trailers").GetProperty("failure-detail").GetString().ShouldBe("from-handler");
    }

    [Fact]
    public void Deadline_is_exceeded_on_time()
    {
        // Proves C-core's grpc-timeout is honoured: the call ends with DEADLINE_EXCEEDED well before the handler would.
        var result = interop.Case("deadline_exceeded");
        Code(result).ShouldBe("DEADLINE_EXCEEDED");
        result.GetProperty("elapsed_seconds").GetDouble().ShouldBeLessThan(2.0);
    }

    [Fact]
    public void Unknown_method_is_UNIMPLEMENTED()
    {
        // Proves C-core understands our Trailers-Only UNIMPLEMENTED answer and its message.
        var result = interop.Case("unknown_method");
        Code(result).ShouldBe("UNIMPLEMENTED");
        result.GetProperty("details").GetString().ShouldBe("unknown method Missing of service " + EchoTestService.ServiceName);
    }

    [Fact]
    public void Metadata_round_trips_text_and_binary()
    {
        // Proves request metadata (text and -bin) reaches the handler and response headers and trailers
        // (text and -bin) reach C-core intact.
        var result = interop.Case("metadata");
        Code(result).ShouldBe("OK");
        var headers = result.GetProperty("headers");
        headers.GetProperty("echo-text").GetString().ShouldBe("from python");
        headers.GetProperty("echo-data-bin").GetString().ShouldBe("0001feff");
        var trailers = result.GetProperty("trailers");
        trailers.GetProperty("trailer-echo-text").GetString().ShouldBe("from python");
        trailers.GetProperty("trailer-echo-data-bin").GetString().ShouldBe("0001feff");
        var keys = result.GetProperty("keys_seen_by_handler").EnumerateArray().Select(key => key.GetString()!).ToHashSet(StringComparer.Ordinal);
        keys.Contains("echo-data-bin").ShouldBeTrue();
        keys.Overlaps(["te", "content-type", "grpc-timeout", "grpc-accept-encoding"]).ShouldBeFalse();
    }

    [Fact]
    public void Server_streaming_delivers_every_message()
    {
        // Proves C-core reads a server stream to its end and its OK status.
        var result = interop.Case("server_streaming");
        Code(result).ShouldBe("OK");
        result.GetProperty("indexes").EnumerateArray().Select(index => index.GetInt32()).ShouldBe([0, 1, 2, 3, 4]);
    }

    [Fact]
    public void Client_streaming_is_answered_once()
    {
        // Proves a C-core request stream is read message by message.
        var result = interop.Case("client_streaming");
        Code(result).ShouldBe("OK");
        result.GetProperty("text").GetString().ShouldBe("a,b,c");
        result.GetProperty("count").GetInt32().ShouldBe(3);
    }

    [Fact]
    public void Bidirectional_stream_echoes_each_message()
    {
        // Proves a C-core bidirectional call gets one response per request and ends OK.
        var result = interop.Case("bidirectional");
        Code(result).ShouldBe("OK");
        result.GetProperty("texts").EnumerateArray().Select(text => text.GetString()).ShouldBe(["x", "y", "z"]);
    }

    [Fact]
    public void Server_logged_no_errors()
    {
        // Proves the interop run left no error in the server's log (every case is a normal outcome).
        interop.Server.AssertNoErrorLogs();
    }

    private static string? Code(JsonElement result) =>
        result.TryGetProperty("error", out var error)
            ? throw new Xunit.Sdk.XunitException("the Python client failed: " + error.GetString())
            : result.GetProperty("code").GetString();
}
