using System.Security.Cryptography;
using System.Text;
using NanoRun.Runners;

namespace NanoRun.Samples.CustomRunner;

/// <summary>The <c>checksum</c> mode: the result of an attempt is the SHA-256 of the request body in hex.</summary>
internal sealed class ChecksumRunner : IAttemptRunner
{
    public async Task<AttemptResult> RunAsync(AttemptContext context, CancellationToken cancellationToken)
    {
        byte[] hash;
        await using (var body = await context.OpenBodyAsync(cancellationToken))
        {
            // The body streams through the hash; it is never held in memory whole.
            hash = await SHA256.HashDataAsync(body, cancellationToken);
        }

        using var result = new MemoryStream(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(hash) + "\n"));
        var stored = await context.StoreResultAsync(result, cancellationToken);
        return new AttemptResult(200, [new("Content-Type", "text/plain")], stored);
    }
}
