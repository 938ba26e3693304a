using System.Net;

namespace NanoRun.Server.Tests.Api;

public sealed class SyncWaitTests
{
    [Fact]
    public async Task Put_DefaultWait_RedirectsToCompletedThenAttempt()
    {
        await using var world = await TestWorld.Create("wait_time: 20s\n").WithUnit("echo", "command: cat\n").StartAsync();

        using var put = await world.Client.PutAsync("api/echo/", new StringContent("sync-body"));
        var id = put.Headers.GetValues("X-Correlation-Id").Single();
        using var completed = await world.Client.GetAsync(new Uri(world.BaseAddress, put.Headers.Location!));
        var attemptUri = new Uri(new Uri(world.BaseAddress, $"api/echo/{id}/completed"), completed.Headers.Location!);
        using var attempt = await world.Client.GetAsync(attemptUri);

        Assert.Equal(HttpStatusCode.SeeOther, put.StatusCode);
        Assert.Equal($"/api/echo/{id}/completed", put.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.MovedPermanently, completed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, attempt.StatusCode);
        Assert.Equal("sync-body", await attempt.Content.ReadAsStringAsync());
        Assert.Equal("complete", attempt.Headers.GetValues("X-Status").Single());
    }

    [Fact]
    public async Task Put_CustomWait_WaitsForFinalOutcomeNotFirstAttempt()
    {
        await using var world = await TestWorld.Create()
            .WithUnit("flaky", "command: '[ \"$X_ATTEMPT\" -ge 3 ] && echo ok || exit 1'\nattempts: 3\ninterval: 50ms\n")
            .StartAsync();

        using var put = await world.Client.PutAsync("api/flaky/?wait=20s", new StringContent("x"));
        var id = put.Headers.GetValues("X-Correlation-Id").Single();
        using var completed = await world.Client.GetAsync($"api/flaky/{id}/completed");
        var record = await world.GetRecordAsync("flaky", id);

        Assert.Equal(HttpStatusCode.SeeOther, put.StatusCode);
        Assert.Equal(HttpStatusCode.MovedPermanently, completed.StatusCode);
        Assert.Equal(3, record.GetProperty("attempts").GetArrayLength());
        Assert.Equal($"/api/flaky/{id}/attempt/" + record.GetProperty("attempts")[2].GetProperty("id").GetString(), completed.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Put_WaitEndsFirst_Answers504WithId()
    {
        await using var world = await TestWorld.Create().WithUnit("slow", "command: sleep 5\n").StartAsync();

        using var put = await world.Client.PutAsync("api/slow/?wait=200ms", new StringContent("x"));
        var id = put.Headers.GetValues("X-Correlation-Id").Single();
        using var completed = await world.Client.GetAsync($"api/slow/{id}/completed");

        Assert.Equal(HttpStatusCode.GatewayTimeout, put.StatusCode);
        Assert.Equal((HttpStatusCode)425, completed.StatusCode);
        using var cancel = await world.Client.DeleteAsync($"api/slow/{id}");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1s")]
    [InlineData("0")]
    [InlineData("0s")]
    [InlineData("")]
    public async Task Put_BadWait_Answers400AndStoresNothing(string wait)
    {
        await using var world = await TestWorld.Create().WithUnit("echo", "command: cat\n").StartAsync();

        using var put = await world.Client.PutAsync("api/echo/?wait=" + Uri.EscapeDataString(wait), new StringContent("x"));

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.False(put.Headers.Contains("X-Correlation-Id"));
        var blobs = Path.Combine(world.DataDirectory, "blobs");
        Assert.True(!Directory.Exists(blobs) || Directory.GetFiles(blobs, "*", SearchOption.AllDirectories).Length == 0);
    }
}
