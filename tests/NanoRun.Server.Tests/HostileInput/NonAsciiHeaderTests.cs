using System.Text;

namespace NanoRun.Server.Tests.HostileInput;

/// <summary>A header value with bytes outside ASCII is stored as sent and answered percent-encoded, never as a server error.</summary>
public sealed class NonAsciiHeaderTests
{
    [Fact]
    public async Task GetRequest_HeaderValueWithUtf8Bytes_AnsweredPercentEncoded()
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();
        var posted = await RawHttp.SendAsync(world, "POST /api/echo/ HTTP/1.1\r\nX-Name: café ✓\r\nX-Plain: tab\there", Encoding.UTF8.GetBytes("x"), Encoding.UTF8);
        Assert.Equal(303, posted.Status);
        var id = posted.Single("X-Correlation-Id");
        await world.WaitCompleteAsync("echo", id);

        var first = await RawHttp.GetAsync(world, $"/api/echo/{id}/request");
        var again = await RawHttp.GetAsync(world, $"/api/echo/{id}/request");
        var record = await world.GetRecordAsync("echo", id);

        Assert.Equal(200, first.Status);
        Assert.Equal("caf%C3%A9 %E2%9C%93", first.Single("X-Name"));
        Assert.Equal("tab\there", first.Single("X-Plain"));
        Assert.Equal("x", first.BodyText);
        Assert.Equal(200, again.Status);
        Assert.Equal("café ✓", record.GetProperty("headers").GetProperty("X-Name")[0].GetString());
    }
}
