namespace CommsCredits.Tests.Transport;

using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

/// <summary>Builds and takes apart gRPC requests and responses by hand, for tests that bypass our client.</summary>
public static class GrpcWire
{
    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray(), compressedFlag: 0);

    public static byte[] Frame(byte[] payload, byte compressedFlag)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = compressedFlag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    public static HttpRequestMessage Request(string path, HttpContent content, string contentType = "application/grpc", params (string Name, string Value)[] headers)
    {
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    public static HttpRequestMessage Request(string path, byte[] body, string contentType = "application/grpc", params (string Name, string Value)[] headers) =>
        Request(path, new ByteArrayContent(body), contentType, headers);

    public static async Task<RawResponse> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        return new RawResponse(response.StatusCode, Flatten(response.Headers, response.Content.Headers), Flatten(response.TrailingHeaders), body);
    }

    public static IReadOnlyList<byte[]> Messages(byte[] body)
    {
        var messages = new List<byte[]>();
        var position = 0;
        while (position < body.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(position + 1));
            messages.Add(body.AsSpan(position + 5, length).ToArray());
            position += 5 + length;
        }

        return messages;
    }

    private static Dictionary<string, string> Flatten(params HttpHeaders[] blocks)
    {
        var flattened = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var block in blocks)
        {
            foreach (var header in block.NonValidated)
            {
                flattened[header.Key] = string.Join(",", header.Value);
            }
        }

        return flattened;
    }
}

/// <summary>A response as it came over the wire.</summary>
public sealed record RawResponse(HttpStatusCode HttpStatus, IReadOnlyDictionary<string, string> Headers, IReadOnlyDictionary<string, string> Trailers, byte[] Body)
{
    /// <summary>The status from the trailers, or from the headers of a Trailers-Only response.</summary>
    public string? GrpcStatus => Trailers.GetValueOrDefault("grpc-status") ?? Headers.GetValueOrDefault("grpc-status");

    public string? GrpcMessage => Trailers.GetValueOrDefault("grpc-message") ?? Headers.GetValueOrDefault("grpc-message");

    public bool IsTrailersOnly => Headers.ContainsKey("grpc-status") && Trailers.Count == 0 && Body.Length == 0;
}
