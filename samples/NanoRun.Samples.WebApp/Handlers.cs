using System.Buffers;
using NanoRun.Jobs;

namespace NanoRun.Samples.WebApp;

/// <summary>Counts whitespace-separated words of a stream through one pooled buffer.</summary>
public sealed class WordCounter
{
    /// <summary>Returns the number of words in <paramref name="text"/> (ASCII whitespace separates them).</summary>
    public async Task<long> CountAsync(Stream text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long words = 0;
            var inWord = false;
            int read;
            while ((read = await text.ReadAsync(buffer, cancellationToken)) > 0)
            {
                for (var i = 0; i < read; i++)
                {
                    var space = buffer[i] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';
                    if (!space && !inWord)
                    {
                        words++;
                    }

                    inWord = !space;
                }
            }

            return words;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>An <see cref="IJobHandler"/> resolved from a fresh scope per attempt: answers the body's lines in reverse order.</summary>
public sealed class ReverseHandler(ILogger<ReverseHandler> logger) : IJobHandler
{
    /// <inheritdoc/>
    public async Task HandleAsync(JobContext job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        using var reader = new StreamReader(job.RequestBody);
        var lines = new List<string>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (lines.Count == 10_000)
            {
                job.StatusCode = 413;
                return;
            }

            lines.Add(line);
        }

        lines.Reverse();
        await using var writer = new StreamWriter(job.ResponseBody, leaveOpen: true);
        foreach (var line in lines)
        {
            await writer.WriteLineAsync(line.AsMemory(), cancellationToken);
        }

        logger.LogInformation("Reversed {Count} lines of {RequestId}", lines.Count, job.RequestId);
    }
}
