namespace CommsCredits.Tests.Hosting;

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CommsCredits.Client;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Hosting;
using CommsCredits.Grpc.Client;
using CommsCredits.Grpc.Protocol;
using CommsCredits.Tests.Charging;
using Shouldly;
using Xunit;

/// <summary>The listener: TLS when a certificate is configured, and settings that are refused at start.</summary>
public sealed class TlsEndpointTests
{
    [Fact]
    public async Task An_https_endpoint_with_a_certificate_serves_grpc_over_TLS_and_refuses_cleartext()
    {
        // Proves Server:CertificatePath: the gateway listens with TLS (ALPN h2), a client that trusts the
        // certificate is served, and a cleartext client on the same port gets no answer.
        var directory = Directory.CreateTempSubdirectory("commscredits-tls-");
        try
        {
            var certificatePath = Path.Combine(directory.FullName, "gateway.pfx");
            await File.WriteAllBytesAsync(certificatePath, SelfSignedPfx("secret"));
            await using var gateway = await GatewayInstance.StartAsync(
                null, "--Server:Endpoint=https://127.0.0.1:0", "--Server:CertificatePath=" + certificatePath, "--Server:CertificatePassword=secret");
            gateway.Address.Scheme.ShouldBe("https");

            using var tls = GrpcChannel.ForAddress(gateway.Address, new GrpcChannelOptions { AcceptAnyServerCertificate = true });
            var answer = await new ChargingClient(tls, gateway.NetworkElementKey).CheckBalanceAsync(new CheckBalanceRequest { TenantId = "nobody" });
            answer.ResultCode.ShouldBe(ResultCode.UserUnknown);

            using var cleartext = GrpcChannel.ForAddress(new UriBuilder(gateway.Address) { Scheme = "http" }.Uri);
            var refused = await Should.ThrowAsync<RpcException>(() => new ChargingClient(cleartext, gateway.NetworkElementKey).CheckBalanceAsync(
                new CheckBalanceRequest { TenantId = "nobody" }, new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(5))));
            refused.StatusCode.ShouldBeOneOf(StatusCode.Unavailable, StatusCode.Internal, StatusCode.DeadlineExceeded);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:5080", "Server:Endpoint")]
    [InlineData("https://127.0.0.1:5080", "Server:CertificatePath")]
    [InlineData("http://example.com:5080", "Server:Endpoint")]
    public void A_bad_endpoint_setting_stops_the_start_with_a_message_naming_it(string endpoint, string setting)
    {
        // Proves start-up validation of the listener settings: a configuration error (which the commands print without a
        // stack trace) that names the setting to change.
        var error = Should.Throw<ConfigurationErrorException>(() => GatewayApplication.Build(["--Server:Endpoint=" + endpoint]));
        error.Message.ShouldContain(setting);
    }

    internal static byte[] SelfSignedPfx(string password)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return certificate.Export(X509ContentType.Pfx, password);
    }
}
