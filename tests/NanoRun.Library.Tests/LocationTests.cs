using System.Net;
using NanoRun.Units;

namespace NanoRun.Library.Tests;

/// <summary>Every <c>Location</c> the API answers names the host's own path base and the prefix it gave <c>MapNanoRun</c>.</summary>
public sealed class LocationTests
{
    [Fact]
    public async Task Location_HostWithPathBaseAndCustomPrefix_NamesBothOnEveryHop()
    {
        await using var world = await LibraryWorld.StartAsync(
            nanoRun => nanoRun.AddUnit("echo", unit => unit.Handle(static (job, ct) => job.RequestBody.CopyToAsync(job.ResponseBody, ct))),
            prefix: "/jobs",
            pathBase: "/base");

        using var post = await world.Http.PostAsync("base/jobs/echo/?tag=1", new StringContent("x"));
        var id = post.Headers.GetValues("X-Correlation-Id").Single();
        using var put = await world.Http.PutAsync("base/jobs/echo/?wait=30s", new StringContent("y"));
        var putId = put.Headers.GetValues("X-Correlation-Id").Single();
        using var completed = await world.Http.GetAsync(put.Headers.Location!.OriginalString.TrimStart('/'));
        using var attempt = await world.Http.GetAsync(completed.Headers.Location!.OriginalString.TrimStart('/'));
        using var record = await world.Http.GetAsync(post.Headers.Location!.OriginalString.TrimStart('/'));

        Assert.Equal(HttpStatusCode.SeeOther, post.StatusCode);
        Assert.Equal($"/base/jobs/echo/{id}?tag=1", post.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.SeeOther, put.StatusCode);
        Assert.Equal($"/base/jobs/echo/{putId}/completed?wait=30s", put.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.MovedPermanently, completed.StatusCode);
        Assert.StartsWith($"/base/jobs/echo/{putId}/attempt/", completed.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.Equal("y", await attempt.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, record.StatusCode);
    }
}
