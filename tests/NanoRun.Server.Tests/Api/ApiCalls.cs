using System.Net;
using System.Text.Json;

namespace NanoRun.Server.Tests.Api;

/// <summary>
/// The API calls tests make over and over, on a world's client: post a request, read or post for a JSON answer, count
/// a unit's requests, and wait for a request or a count to change. The UI tests compile this file too.
/// </summary>
internal static class ApiCalls
{
    /// <summary>Posts <paramref name="body"/> with <paramref name="headers"/> to the unit, asserts the 303 and returns the new id.</summary>
    public static async Task<string> PostRequestAsync(this HttpClient client, string unit, string body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/{unit}/") { Content = new StringContent(body) };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        return response.Headers.GetValues("X-Correlation-Id").Single();
    }

    /// <summary>GETs <paramref name="path"/>, asserts a 200 and returns the answer's JSON.</summary>
    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return await JsonOkAsync(response);
    }

    /// <summary>POSTs nothing to <paramref name="path"/>, asserts a 200 and returns the answer's JSON.</summary>
    public static async Task<JsonElement> PostJsonAsync(this HttpClient client, string path)
    {
        using var response = await client.PostAsync(path, null);
        return await JsonOkAsync(response);
    }

    /// <summary>The request's record, as <c>GET /api/{unit}/{id}</c> answers it.</summary>
    public static Task<JsonElement> GetRecordAsync(this HttpClient client, string unit, string id) => client.GetJsonAsync($"api/{unit}/{id}");

    /// <summary>How many requests the unit's list holds (up to 500).</summary>
    public static async Task<int> CountRequestsAsync(this HttpClient client, string unit) =>
        (await client.GetJsonAsync($"api/{unit}/?limit=500")).GetProperty("requests").GetArrayLength();

    /// <summary>Polls the unit's count until it is above <paramref name="count"/>, for at most 10 s; returns the last count seen.</summary>
    public static async Task<int> WaitCountAboveAsync(this HttpClient client, string unit, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var now = await client.CountRequestsAsync(unit);
            if (now > count || DateTime.UtcNow > deadline)
            {
                return now;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Polls the record until it is complete, for at most <paramref name="timeout"/>, and returns it.</summary>
    public static Task<JsonElement> WaitCompleteAsync(this HttpClient client, string unit, string id, TimeSpan timeout) =>
        client.WaitRecordAsync(unit, id, timeout, static r => r.GetProperty("complete").GetBoolean(), "did not complete in time");

    /// <summary>Polls the record until its outcome is <paramref name="outcome"/>, for at most <paramref name="timeout"/>.</summary>
    public static Task<JsonElement> WaitOutcomeAsync(this HttpClient client, string unit, string id, string outcome, TimeSpan timeout) =>
        client.WaitRecordAsync(unit, id, timeout, r => r.GetProperty("outcome").GetString() == outcome, "never became " + outcome);

    /// <summary>Polls the record until an attempt runs, for at most <paramref name="timeout"/>, and returns the attempt's id.</summary>
    public static async Task<string> WaitRunningAttemptAsync(this HttpClient client, string unit, string id, TimeSpan timeout)
    {
        var record = await client.WaitRecordAsync(unit, id, timeout, static r => r.TryGetProperty("running_attempt", out _), "started no attempt");
        return record.GetProperty("running_attempt").GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement> WaitRecordAsync(this HttpClient client, string unit, string id, TimeSpan timeout, Func<JsonElement, bool> done, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var record = await client.GetRecordAsync(unit, id);
            if (done(record))
            {
                return record;
            }

            Assert.True(DateTime.UtcNow < deadline, $"request {id} {failure}: {record}");
            await Task.Delay(50);
        }
    }

    private static async Task<JsonElement> JsonOkAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {text}");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
