using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NanoRun.Server.Tests.Process;

namespace NanoRun.Server.Tests.Tls;

public sealed class HttpsTests
{
    private const string TlsYaml = "tls: {enable: true, cert: tls/cert.pem, key: tls/key.pem}\n";

    [Theory]
    [InlineData("ec-pkcs8")]
    [InlineData("rsa-pkcs1")]
    public async Task Https_PemCertificateAndKey_ServesApiOverTls(string keyKind)
    {
        await using var world = TestWorld.Create(TlsYaml).WithUnit("echo", "command: cat\n");
        var thumbprint = WriteCertificate(world.Root, keyKind);
        await world.StartAsync();
        using var client = TrustingClient(world.BaseAddress, thumbprint);

        using var response = await client.PutAsync("api/echo/?wait=30s", new StringContent("over tls"));
        using var result = await client.GetAsync(new Uri(new Uri(world.BaseAddress, "api/echo/"), response.Headers.Location!));

        Assert.Equal("https", world.BaseAddress.Scheme);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(HttpStatusCode.MovedPermanently, result.StatusCode);
    }

    [Fact]
    public async Task Https_KeyOfAnotherCertificate_FailsStartWithBothFileNames()
    {
        await using var world = TestWorld.Create(TlsYaml);
        WriteCertificate(world.Root, "ec-pkcs8");
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await File.WriteAllTextAsync(Path.Combine(world.Root, "tls", "key.pem"), otherKey.ExportPkcs8PrivateKeyPem());

        var error = await Assert.ThrowsAsync<StartupException>(world.StartAsync);

        Assert.Contains(Path.Combine(world.Root, "tls", "cert.pem"), error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(world.Root, "tls", "key.pem"), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("missing")]
    public async Task Start_UnusableCertificateFile_ExitsWithClearMessage(string problem)
    {
        var root = Path.Combine(Path.GetTempPath(), "nano-run-tls-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            WriteCertificate(root, "ec-pkcs8");
            var cert = Path.Combine(root, "tls", "cert.pem");
            if (problem == "garbage")
            {
                await File.WriteAllTextAsync(cert, "this is not a certificate\n");
            }
            else
            {
                File.Delete(cert);
            }

            await File.WriteAllTextAsync(Path.Combine(root, "server.yaml"), "bind: 127.0.0.1:0\n" + TlsYaml);
            using var server = ServerProcess.Start(root, "server", "run", "-c", "server.yaml");

            var exitCode = await server.WaitExitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(2, exitCode);
            Assert.Contains(cert, server.Output, StringComparison.Ordinal);
            Assert.Contains(problem == "garbage" ? "cannot load certificate" : "file not found", server.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Writes a self-signed certificate for 127.0.0.1 to <c>tls/cert.pem</c> and its key to <c>tls/key.pem</c>; returns its thumbprint.</summary>
    private static string WriteCertificate(string root, string keyKind)
    {
        var folder = Path.Combine(root, "tls");
        Directory.CreateDirectory(folder);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        var now = DateTimeOffset.UtcNow;
        using AsymmetricAlgorithm key = keyKind == "ec-pkcs8" ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : RSA.Create(2048);
        var request = key is ECDsa ec
            ? new CertificateRequest("CN=nano-run test", ec, HashAlgorithmName.SHA256)
            : new CertificateRequest("CN=nano-run test", (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        File.WriteAllText(Path.Combine(folder, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "key.pem"), key is RSA rsa ? rsa.ExportRSAPrivateKeyPem() : key.ExportPkcs8PrivateKeyPem());
        return certificate.GetCertHashString();
    }

    /// <summary>A client that trusts exactly the test's certificate.</summary>
    private static HttpClient TrustingClient(Uri baseAddress, string thumbprint)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && string.Equals(certificate.GetCertHashString(), thumbprint, StringComparison.OrdinalIgnoreCase),
            },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }
}
