using System.Reflection;
using Microsoft.Extensions.Logging;

namespace NanoRun.Server.Tests.Logging;

/// <summary>Every log line of the product has its own event id, so a filter or an alert on an id means one thing.</summary>
public sealed class EventIdTests
{
    private static readonly string[] ProductAssemblies =
        ["NanoRun.Core", "NanoRun.AspNetCore", "NanoRun.Storage.Sqlite", "NanoRun.Storage.PostgreSql", "nano-run"];

    [Fact]
    public void LoggerMessages_HaveDistinctNonZeroEventIds()
    {
        var messages = ProductAssemblies
            .Select(Assembly.Load)
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .Select(m => (Id: m.Attribute!.EventId, Name: $"{m.Method.DeclaringType!.FullName}.{m.Method.Name}"))
            .ToList();

        Assert.True(messages.Count > 40, $"only {messages.Count} log messages found");
        Assert.DoesNotContain(messages, m => m.Id <= 0);
        var shared = messages.GroupBy(m => m.Id).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Name))}")
            .ToList();
        Assert.True(shared.Count == 0, "event ids used more than once:\n" + string.Join("\n", shared));
    }
}
