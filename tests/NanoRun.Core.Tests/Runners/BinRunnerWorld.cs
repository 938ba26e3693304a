using System.Text;
using NanoRun.Runners;
using NanoRun.Storage;
using NanoRun.Units;

namespace NanoRun.Core.Tests.Runners;

/// <summary>One test's isolated world: a temp folder, a blob store in it, and bin and cgi runners on real time.</summary>
internal sealed class BinRunnerWorld : IDisposable
{
    public BinRunnerWorld()
    {
        Folder = Directory.CreateTempSubdirectory("nano-run-test-").FullName;
        Blobs = new TempFolderBlobStore(Path.Combine(Folder, "blobs"));
        Runner = new BinRunner(Logger, TimeProvider.System);
        Cgi = new CgiRunner(CgiLogger, TimeProvider.System);
    }

    /// <summary>A folder of this test only, free for scripts (pid files, work folders).</summary>
    public string Folder { get; }

    public TempFolderBlobStore Blobs { get; }

    public RecordingLogger<BinRunner> Logger { get; } = new();

    public BinRunner Runner { get; }

    public RecordingLogger<CgiRunner> CgiLogger { get; } = new();

    public CgiRunner Cgi { get; }

    public string RequestId { get; } = Guid.NewGuid().ToString("N");

    public string AttemptId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Saves <paramref name="body"/> and builds the attempt context for <paramref name="unit"/>.</summary>
    public async Task<AttemptContext> ContextAsync(
        UnitDefinition unit,
        byte[]? body = null,
        params KeyValuePair<string, string>[] headers)
    {
        var saved = body is null
            ? BodyRef.Empty
            : await Blobs.WriteAsync(RequestId + "/body", new MemoryStream(body), 0);
        return new AttemptContext(unit, RequestId, AttemptId, 2, "POST", "/api/test/", headers, saved, Blobs);
    }

    /// <summary>A copy of <paramref name="context"/> with another method, URI or client address.</summary>
    public static AttemptContext With(AttemptContext context, string? method = null, string? uri = null, string? remoteAddress = null) =>
        new(context.Unit, context.RequestId, context.AttemptId, context.AttemptNumber, method ?? context.Method, uri ?? context.Uri, context.Headers, context.Body, context.Blobs, remoteAddress ?? context.RemoteAddress);

    /// <summary>Runs one attempt of <paramref name="command"/> with a deadline.</summary>
    public async Task<AttemptResult> RunAsync(string command, byte[]? body = null, params KeyValuePair<string, string>[] headers)
    {
        var context = await ContextAsync(Unit(command), body, headers);
        return await Runner.RunAsync(context, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Runs one cgi-mode attempt of <paramref name="command"/> with a deadline.</summary>
    public async Task<AttemptResult> RunCgiAsync(string command, byte[]? body = null, params KeyValuePair<string, string>[] headers)
    {
        var context = await ContextAsync(new UnitDefinition { Name = "test", Command = command, Mode = UnitModes.Cgi }, body, headers);
        return await Cgi.RunAsync(context, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>The value of a result header, or <c>null</c>.</summary>
    public static string? Header(AttemptResult result, string name)
    {
        foreach (var header in result.Headers)
        {
            if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                return header.Value;
            }
        }

        return null;
    }

    public static UnitDefinition Unit(string command) => new() { Name = "test", Command = command };

    /// <summary>Reads a stored result as bytes.</summary>
    public async Task<byte[]> ReadAsync(BodyRef result)
    {
        await using var stream = await Blobs.OpenReadAsync(result);
        var copy = new MemoryStream();
        await stream!.CopyToAsync(copy);
        return copy.ToArray();
    }

    public async Task<string> ReadTextAsync(BodyRef result) => Encoding.UTF8.GetString(await ReadAsync(result));

    public static string ReturnCode(AttemptResult result)
    {
        foreach (var header in result.Headers)
        {
            if (header.Key == "X-Return-Code")
            {
                return header.Value;
            }
        }

        return "";
    }

    /// <summary>Waits until <paramref name="condition"/> holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }

    /// <summary>Whether a process is gone: no /proc entry, or only a zombie left for its reaper.</summary>
    public static bool IsGone(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return true;
        }
    }

    /// <summary>Reads a pid a script wrote to a file in <see cref="Folder"/>, waiting for it to appear.</summary>
    public async Task<int> PidAsync(string file)
    {
        var path = Path.Combine(Folder, file);
        await WaitUntilAsync(() => File.Exists(path) && File.ReadAllText(path).EndsWith('\n'), TimeSpan.FromSeconds(10));
        return int.Parse(File.ReadAllText(path).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
