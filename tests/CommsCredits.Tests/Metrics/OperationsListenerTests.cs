namespace CommsCredits.Tests.Metrics;

using System.Net;
using System.Security.Cryptography.X509Certificates;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Tests.Charging;
using CommsCredits.Tests.Hosting;
using Microsoft.Extensions.Options;
using Shouldly;
using Xunit;

/// <summary>The settings of the operations listener: cleartext HTTP/1.1, TLS with HTTP/2, a bad endpoint, and turning it off.</summary>
public sealed class OperationsListenerTests
{
    [Fact]
    public async Task An_https_operations_endpoint_serves_metrics_over_HTTP2_and_HTTP1()
    {
        // Proves Operations:CertificatePath: with TLS, ALPN gives a client that asks for HTTP/2 the metrics over HTTP/2,
        // and a client that asks for HTTP/1.1 the same over HTTP/1.1.
        var directory = Directory.CreateTempSubdirectory("commscredits-ops-tls-");
        try
        {
            var certificatePath = Path.Combine(directory.FullName, "operations.pfx");
            var pfx = TlsEndpointTests.SelfSignedPfx("secret");
            await File.WriteAllBytesAsync(certificatePath, pfx);
            using var certificate = X509CertificateLoader.LoadPkcs12(pfx, "secret");
            var thumbprint = certificate.GetCertHashString();
            await using var gateway = await GatewayInstance.StartAsync(
                null, "--Operations:Endpoint=https://127.0.0.1:0", "--Operations:CertificatePath=" + certificatePath, "--Operations:CertificatePassword=secret");
            var address = gateway.OperationsAddress!;
            address.Scheme.ShouldBe("https");

            using var http = new HttpClient(new SocketsHttpHandler
            {
                // Trusted: the certificate the gateway was given, and no other.
                SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => string.Equals(presented?.GetCertHashString(), thumbprint, StringComparison.Ordinal) },
            }) { Timeout = TimeSpan.FromSeconds(30) };
            foreach (var version in new[] { HttpVersion.Version20, HttpVersion.Version11 })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/metrics")) { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
                using var response = await http.SendAsync(request);
                response.StatusCode.ShouldBe(HttpStatusCode.OK);
                response.Version.ShouldBe(version);
                (await response.Content.ReadAsStringAsync()).ShouldContain("# TYPE commscredits_grpc_requests_total counter");
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_http_operations_endpoint_serves_HTTP1_and_starts_without_a_warning()
    {
        // Proves the cleartext listener is set for what Kestrel serves without TLS, HTTP/1.1: the gateway starts without
        // Kestrel's warning that HTTP/2 is not enabled on it (logged at every start while it asked for both versions),
        // and /metrics answers over HTTP/1.1.
        await using var gateway = await GatewayInstance.StartAsync(null);
        var address = gateway.OperationsAddress!;
        address.Scheme.ShouldBe("http");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/metrics")) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await http.SendAsync(request);
        (response.StatusCode, response.Version).ShouldBe((HttpStatusCode.OK, HttpVersion.Version11));
        gateway.Errors.Warnings.ShouldNotContain(warning => warning.Contains("HTTP/2 is not enabled", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:9464", "Operations:Endpoint must be")]
    [InlineData("http://127.0.0.1", "Operations:Endpoint must be")]
    [InlineData("http://example.com:9464", "Operations:Endpoint host")]
    [InlineData("https://127.0.0.1:9464", "Operations:CertificatePath")]
    public void A_bad_operations_endpoint_stops_the_start_naming_the_setting(string endpoint, string expected)
    {
        // Proves the endpoint is validated at start-up (before anything listens or connects) with a message that
        // names the setting to change.
        var error = Should.Throw<ConfigurationErrorException>(() => GatewayApplication.Build(["--Operations:Endpoint=" + endpoint, "--Server:Endpoint=http://127.0.0.1:0"]));
        error.Message.ShouldContain(expected);
    }

    [Fact]
    public async Task Operations_Enabled_false_runs_no_listener()
    {
        // Proves the listener can be turned off: the gateway serves gRPC and binds no operations port.
        await using var gateway = await GatewayInstance.StartAsync(null, "--Operations:Enabled=false");
        gateway.OperationsAddress.ShouldBeNull();
    }
}
