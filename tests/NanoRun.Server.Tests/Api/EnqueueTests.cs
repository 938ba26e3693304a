using System.Net;
using System.Text;

namespace NanoRun.Server.Tests.Api;

public sealed class EnqueueTests
{
    [Fact]
    public async Task Post_Body_AnswersSeeOtherAndProcessesWithOwnResult()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        using var response = await world.Client.PostAsync("api/echo/?x=1&y=2", new StringContent("payload-1"));
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        var record = await world.WaitCompleteAsync("echo", id);

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal($"/api/echo/{id}?x=1&y=2", response.Headers.Location!.OriginalString);
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
        var attempt = record.GetProperty("attempts")[0];
        Assert.Equal(200, attempt.GetProperty("code").GetInt32());
        Assert.Equal("payload-1", await world.GetResultAsync("echo", id, attempt.GetProperty("id").GetString()!));
        Assert.Equal("/api/echo/?x=1&y=2", record.GetProperty("uri").GetString());
        Assert.Equal("POST", record.GetProperty("method").GetString());
    }

    [Fact]
    public async Task Post_WithoutTrailingSlash_LocationStillResolvesUnderUnit()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        using var response = await world.Client.PostAsync("api/echo", new StringContent("x"));
        var id = response.Headers.GetValues("X-Correlation-Id").Single();
        using var follow = await world.Client.GetAsync(new Uri(new Uri(world.BaseAddress, "api/echo"), response.Headers.Location!));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, follow.StatusCode);
        Assert.Equal(id, follow.Headers.GetValues("X-Correlation-Id").Single());
    }

    [Fact]
    public async Task Post_FailingCommand_RetriedExactlyAttemptsTimesWith502AndReturnCode()
    {
        await using var world = await TestWorld.Create().WithUnit("fail", "command: exit 3\nattempts: 3\ninterval: 20ms\n").StartAsync();

        var id = await world.PostAsync("fail", "x");
        var record = await world.WaitCompleteAsync("fail", id);
        await Task.Delay(300);
        var again = await world.GetRecordAsync("fail", id);

        Assert.Equal("failed", record.GetProperty("outcome").GetString());
        Assert.Equal(3, again.GetProperty("attempts").GetArrayLength());
        foreach (var attempt in again.GetProperty("attempts").EnumerateArray())
        {
            Assert.Equal(502, attempt.GetProperty("code").GetInt32());
            Assert.Equal("3", attempt.GetProperty("headers").GetProperty("X-Return-Code")[0].GetString());
            using var result = await world.Client.GetAsync($"api/fail/{id}/attempt/{attempt.GetProperty("id").GetString()}");
            Assert.Equal(HttpStatusCode.BadGateway, result.StatusCode);
            Assert.Equal("3", result.Headers.GetValues("X-Return-Code").Single());
            Assert.Equal("true", result.Headers.GetValues("X-Processed").Single());
        }
    }

    [Fact]
    public async Task Post_Headers_VisibleAsEnvironmentWithAttemptHeaders()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("env", "command: 'printf \"%s|%s|%s|%s|%s\" \"$X_FOO_BAR\" \"$X_CORRELATION_ID\" \"$X_ATTEMPT\" \"$X_ATTEMPT_ID\" \"$GREETING\"'\nenvironment:\n  GREETING: hi\n")
            .StartAsync();

        var id = await world.PostAsync("env", "", ("X-Foo-Bar", "baz"));
        var record = await world.WaitCompleteAsync("env", id);
        var attemptId = record.GetProperty("attempts")[0].GetProperty("id").GetString()!;
        var output = await world.GetResultAsync("env", id, attemptId);

        Assert.Equal($"baz|{id}|1|{attemptId}|hi", output);
    }

    [Fact]
    public async Task Post_SilentCommand_Answers204Attempt()
    {
        await using var world = await TestWorld.Create().WithUnit("quiet", "command: 'true'\n").StartAsync();

        var id = await world.PostAsync("quiet", "x");
        var record = await world.WaitCompleteAsync("quiet", id);

        Assert.Equal(204, record.GetProperty("attempts")[0].GetProperty("code").GetInt32());
        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Post_OversizedBody_Answers413AndStoresNothing(bool withContentLength)
    {
        await using var world = await TestWorld.Create().WithUnit("small", "command: cat\nmax_request: 10\n").StartAsync();
        var content = withContentLength
            ? (HttpContent)new StringContent("01234567890")
            : new StreamContent(new MemoryStream(Encoding.ASCII.GetBytes(new string('x', 200_000))));
        if (!withContentLength)
        {
            content.Headers.ContentLength = null;
        }

        using var response = await world.Client.PostAsync("api/small/", content);
        using var fits = await world.Client.PostAsync("api/small/", new StringContent("0123456789"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Correlation-Id"));
        Assert.Equal(HttpStatusCode.SeeOther, fits.StatusCode);
        var blobs = Path.Combine(world.DataDirectory, "blobs");
        Assert.True(!Directory.Exists(blobs) || Directory.GetFiles(blobs, "*", SearchOption.AllDirectories).Length == 0);
    }

    [Fact]
    public async Task Post_UnknownOrPrivateUnit_Answers404()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("hidden", "command: cat\nprivate: true\n")
            .StartAsync();

        using var unknown = await world.Client.PostAsync("api/nope/", new StringContent("x"));
        using var hidden = await world.Client.PostAsync("api/hidden/", new StringContent("x"));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
    }

    [Fact]
    public async Task Post_NestedUnit_ReachableByJoinedName()
    {
        await using var world = await TestWorld.Create().WithUnit("team/build", "command: echo built\n").StartAsync();

        var id = await world.PostAsync("team-build", "");
        var record = await world.WaitCompleteAsync("team-build", id);

        Assert.Equal("succeeded", record.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task Workers_Two_RunExactlyTwoAtOnce()
    {
        var shared = Path.Combine(Path.GetTempPath(), "nano-run-conc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(shared);
        try
        {
            await using var world = await TestWorld.Create()
                .WithUnit("pair", $"workers: 2\nattempts: 1\ncommand: 'touch {shared}/$X_CORRELATION_ID; sleep 0.4; ls {shared} | wc -l; rm {shared}/$X_CORRELATION_ID'\n")
                .StartAsync();

            var ids = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                ids.Add(await world.PostAsync("pair", "x"));
            }

            var counts = new List<int>();
            foreach (var id in ids)
            {
                var record = await world.WaitCompleteAsync("pair", id);
                var output = await world.GetResultAsync("pair", id, record.GetProperty("attempts")[0].GetProperty("id").GetString()!);
                counts.Add(int.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture));
            }

            Assert.Equal(2, counts.Max());
        }
        finally
        {
            Directory.Delete(shared, true);
        }
    }
}
