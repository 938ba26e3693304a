namespace NanoRun.Client;

/// <summary>The final attempt's status, headers and streamed body; dispose it to release the connection.</summary>
public sealed class NanoRunResult : IDisposable, IAsyncDisposable
{
    private readonly HttpResponseMessage _response;

    internal NanoRunResult(NanoRunRecord record, NanoRunAttempt attempt, HttpResponseMessage response, Stream body)
    {
        Record = record;
        Attempt = attempt;
        _response = response;
        Body = body;
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var header in response.Headers.NonValidated)
        {
            foreach (var value in header.Value)
            {
                headers.Add(new(header.Key, value));
            }
        }

        foreach (var header in response.Content.Headers.NonValidated)
        {
            foreach (var value in header.Value)
            {
                headers.Add(new(header.Key, value));
            }
        }

        Headers = headers;
    }

    /// <summary>The request's record when the result was fetched.</summary>
    public NanoRunRecord Record { get; }

    /// <summary>The attempt the result belongs to (the last one).</summary>
    public NanoRunAttempt Attempt { get; }

    /// <summary>The status the attempt produced.</summary>
    public int StatusCode => (int)_response.StatusCode;

    /// <summary>Whether the request succeeded (status below 500).</summary>
    public bool Succeeded => StatusCode < 500;

    /// <summary>The attempt's headers as the server sent them, including <c>X-Status</c>, <c>X-Processed</c> and <c>X-Correlation-Id</c>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The result body, streamed from the server; read it once.</summary>
    public Stream Body { get; }

    /// <summary>The first value of header <paramref name="name"/> (case-insensitive), or <c>null</c>.</summary>
    public string? Header(string name)
    {
        foreach (var pair in Headers)
        {
            if (pair.Key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return pair.Value;
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Body.Dispose();
        _response.Dispose();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await Body.DisposeAsync().ConfigureAwait(false);
        _response.Dispose();
    }
}
