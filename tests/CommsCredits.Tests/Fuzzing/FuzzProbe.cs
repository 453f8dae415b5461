namespace CommsCredits.Tests.Fuzzing;

using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Google.Protobuf.Reflection;

/// <summary>
/// Sends one fuzzed request over raw h2c and judges the answer: it must be HTTP 200 with a grpc-status (in the
/// trailers, or in the headers of a Trailers-Only answer) that is a valid code, never UNKNOWN (our transport's
/// answer to an exception it did not expect), with no exception text in grpc-message, and an OK answer must carry
/// exactly one response message that parses (any number, each parsing, for a method that streams its responses).
/// </summary>
public static class FuzzProbe
{
    /// <summary>The largest valid gRPC status code (UNAUTHENTICATED).</summary>
    public const int MaxStatusCode = 16;

    public const int Unknown = 2;

    private static readonly string[] ExceptionMarkers = ["Exception", "   at ", "System.", "Npgsql", "StackExchange", "Redis"];

    public static async Task<FuzzAnswer> SendAsync(
        HttpClient client, string path, byte[] body, string? authorization, string contentType = "application/grpc", params (string Name, string Value)[] headers)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("authorization", authorization);
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await SendAsync(client, request);
    }

    public static async Task<FuzzAnswer> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        try
        {
            using var response = await client.SendAsync(request);
            var responseBody = await response.Content.ReadAsByteArrayAsync();
            var status = response.TrailingHeaders.NonValidated.Contains("grpc-status") ? response.TrailingHeaders.NonValidated["grpc-status"].ToString()
                : response.Headers.NonValidated.Contains("grpc-status") ? response.Headers.NonValidated["grpc-status"].ToString() : null;
            var message = response.TrailingHeaders.NonValidated.Contains("grpc-message") ? response.TrailingHeaders.NonValidated["grpc-message"].ToString()
                : response.Headers.NonValidated.Contains("grpc-message") ? response.Headers.NonValidated["grpc-message"].ToString() : null;
            return new FuzzAnswer(response.StatusCode, status, message is null ? null : Uri.UnescapeDataString(message), responseBody, null);
        }
        catch (HttpRequestException exception)
        {
            return new FuzzAnswer(null, null, null, [], exception);
        }
    }

    /// <summary>What is wrong with the answer, or null.</summary>
    public static string? Problem(FuzzAnswer answer, MessageDescriptor? responseType, bool streamedResponses = false)
    {
        if (answer.Failure is not null)
        {
            return "no answer: " + answer.Failure.GetType().Name + ": " + answer.Failure.Message + " " + answer.Failure.InnerException?.Message;
        }

        if (answer.HttpStatus != HttpStatusCode.OK)
        {
            return $"HTTP {(int?)answer.HttpStatus} instead of 200";
        }

        if (answer.GrpcStatus is null)
        {
            return "no grpc-status";
        }

        if (!int.TryParse(answer.GrpcStatus, NumberStyles.None, CultureInfo.InvariantCulture, out var code) || code > MaxStatusCode)
        {
            return $"invalid grpc-status '{answer.GrpcStatus}'";
        }

        if (code == Unknown)
        {
            return "UNKNOWN (an exception the server did not expect): " + answer.GrpcMessage;
        }

        if (answer.GrpcMessage is { } text && ExceptionMarkers.FirstOrDefault(marker => text.Contains(marker, StringComparison.Ordinal)) is { } leak)
        {
            return $"grpc-message leaks '{leak}': {text}";
        }

        return code != 0 || responseType is null ? null
            : streamedResponses ? StreamedResponsesProblem(answer.Body, responseType)
            : ResponseProblem(answer.Body, responseType);
    }

    public static byte[] Frame(ReadOnlySpan<byte> payload, byte flag = 0)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static string Hex(byte[] bytes, int limit = 120) =>
        Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, limit))) + (bytes.Length > limit ? $"...({bytes.Length} bytes)" : string.Empty);

    /// <summary>The one response message of an OK answer, parsed.</summary>
    public static IMessage ResponseMessage(byte[] body, MessageDescriptor responseType)
    {
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        return responseType.Parser.ParseFrom(body.AsSpan(5, length).ToArray());
    }

    /// <summary>A streamed answer is any number of whole, uncompressed messages that parse, and nothing else.</summary>
    private static string? StreamedResponsesProblem(byte[] body, MessageDescriptor responseType)
    {
        var position = 0;
        while (position < body.Length)
        {
            if (body.Length - position < 5 || body[position] != 0)
            {
                return $"OK with a broken message frame at byte {position} (body {Hex(body)})";
            }

            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(position + 1));
            if (length > body.Length - position - 5)
            {
                return $"OK with a message frame at byte {position} declaring {length} bytes, {body.Length - position - 5} there";
            }

            try
            {
                responseType.Parser.ParseFrom(body.AsSpan(position + 5, length).ToArray());
            }
            catch (InvalidProtocolBufferException exception)
            {
                return $"OK with a response at byte {position} that does not parse: " + exception.Message;
            }

            position += 5 + length;
        }

        return null;
    }

    private static string? ResponseProblem(byte[] body, MessageDescriptor responseType)
    {
        if (body.Length < 5 || body[0] != 0)
        {
            return $"OK without a response message (body {Hex(body)})";
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        if (length != body.Length - 5)
        {
            return $"OK with a body that is not exactly one message (declared {length}, {body.Length - 5} bytes)";
        }

        try
        {
            ResponseMessage(body, responseType);
            return null;
        }
        catch (InvalidProtocolBufferException exception)
        {
            return "OK with a response that does not parse: " + exception.Message;
        }
    }
}

/// <summary>What came back: HTTP status, grpc-status and -message (decoded), body; or the transport failure.</summary>
public sealed record FuzzAnswer(HttpStatusCode? HttpStatus, string? GrpcStatus, string? GrpcMessage, byte[] Body, HttpRequestException? Failure)
{
    public int? Code => int.TryParse(GrpcStatus, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null;
}
