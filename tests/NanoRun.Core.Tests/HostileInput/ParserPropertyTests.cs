using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NanoRun.Requests;
using NanoRun.Runners;
using NanoRun.Scheduling;
using NanoRun.Units;

namespace NanoRun.Core.Tests.HostileInput;

/// <summary>Property tests of the parsers that read outside input: any input returns a value or the documented exception, quickly and in bounded memory.</summary>
public sealed class ParserPropertyTests
{
    private const long MaxBytesPerCall = 4 * 1024 * 1024;

    [Property(MaxTest = 3000)]
    public Property GoDuration_AnyText_ParsesOrRefusesAndRoundTrips() =>
        Prop.ForAll(Hostile.Strings("0123456789.nsuµmh+-", "1h2m3.5s", "300ms", "-1.5h", "9223372036854775807", "0.000000001s", "1µs"), text =>
            Hostile.Bounded(text, MaxBytesPerCall, () =>
            {
                if (GoDuration.TryParse(text, out var value))
                {
                    Assert.Equal(value, GoDuration.Parse(GoDuration.Format(value)));
                }
                else
                {
                    Assert.Throws<FormatException>(() => GoDuration.Parse(text));
                }
            }));

    [Property(MaxTest = 2000)]
    public Property CronSchedule_AnySpec_ParsesOrExplainsAndNextTickIsLater() =>
        Prop.ForAll(Hostile.Strings("0123456789*/,-? LW#@everyhourlydailyJANMON", "*/5 * * * *", "0 0 L * ?", "@every 1h30m", "@daily", "0 0 29 2 *", "1-5/2 3,4 * JAN-MAR MON#2", "*/1 * * * * *"), spec =>
            Hostile.Bounded(spec, MaxBytesPerCall, () =>
            {
                if (CronSchedule.TryParse(spec, null, out var schedule, out var error))
                {
                    var after = new DateTimeOffset(2026, 11, 28, 5, 0, 0, TimeSpan.Zero);
                    var next = schedule.NextAfter(after);
                    Assert.True(next is null || next > after);
                }
                else
                {
                    Assert.False(string.IsNullOrEmpty(error));
                }
            }));

    [Property(MaxTest = 3000)]
    public Property RequestId_AnyText_ValidOnlyFor32LowerHexCharacters() =>
        Prop.ForAll(Hostile.Strings("0123456789abcdefABCDEF./%", RequestId.New(), "../../etc/passwd", "0123456789abcdef0123456789abcdeg"), text =>
            Hostile.Bounded(text, 1024, () =>
            {
                var expected = text.Length == RequestId.Length && text.All(static c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

                Assert.Equal(expected, RequestId.IsValid(text));
            }));

    [Property(MaxTest = 2000)]
    public Property CgiResponseHead_AnyOutput_IsAResponseOrAReason() =>
        Prop.ForAll(Hostile.Strings("Status: 200 OK\r\nContent-Type: text/plainLocation: /x\n\n", "Status: 201 Created\r\nX-A: b\r\n\r\nbody", "Location: /next\n\n", "Content-Type: a\nStatus: 99\n\n", "X: y\r\n\r\n"), text =>
            Hostile.Bounded(text, MaxBytesPerCall, () =>
            {
                using var output = new MemoryStream(Encoding.UTF8.GetBytes(text));

                var head = CgiResponseHead.ReadAsync(output, CancellationToken.None).GetAwaiter().GetResult();

                if (head.Error is null)
                {
                    Assert.InRange(head.Status, 200, 599);
                    using var body = head.Body!;
                    body.CopyTo(Stream.Null);
                }
                else
                {
                    Assert.Null(head.Body);
                }
            }));

    [Property(MaxTest = 2000)]
    public Property UnitLoader_AnyYaml_LoadsOrNamesTheProblem() =>
        Prop.ForAll(UnitYaml(), yaml =>
            Hostile.Bounded(yaml, 16 * MaxBytesPerCall, () =>
            {
                try
                {
                    var unit = UnitLoader.Parse(yaml, "fuzz.yaml", "fuzz");
                    Assert.Equal("fuzz", unit.Name);
                }
                catch (UnitConfigException e)
                {
                    Assert.Contains("fuzz.yaml", e.Message, StringComparison.Ordinal);
                }
            }));

    [Fact]
    public void UnitLoader_AliasBomb_RefusedWithoutExpanding()
    {
        var yaml = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 12; i++)
        {
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }

        yaml.Append("environment: *a11\ncommand: cat\n");
        var text = yaml.ToString();

        Hostile.Bounded(text, 64 * MaxBytesPerCall, () =>
        {
            var error = Record.Exception(() => UnitLoader.Parse(text, "bomb.yaml", "bomb"));

            Assert.IsType<UnitConfigException>(error);
        });
    }

    [Theory]
    [InlineData("[", "]")]
    [InlineData("{a: ", "}")]
    [InlineData("- ", "")]
    public void UnitLoader_DeepNesting_RefusedWithoutOverflowingTheStack(string open, string close)
    {
        var depth = 100_000;
        var text = "environment: " + string.Concat(Enumerable.Repeat(open, depth)) + "x" + string.Concat(Enumerable.Repeat(close, depth)) + "\n";

        var error = Record.Exception(() => UnitLoader.Parse(text, "deep.yaml", "deep"));

        Assert.IsType<UnitConfigException>(error);
    }

    /// <summary>Unit documents built from the real keys with hostile values, plus mutated valid documents and raw noise.</summary>
    private static Arbitrary<string> UnitYaml()
    {
        string[] keys = ["command", "mode", "shell", "workdir", "environment", "user", "timeout", "graceful_timeout", "attempts", "interval", "workers", "max_request", "max_queue", "private", "authorization", "cron", "retention", "jwt", "basic", "spec", "content", "content_file", "headers", "tokens", "users", "x"];
        var scalar = Gen.OneOf(
            Hostile.Strings("0123456789.smhabc-_ /*@", "5s", "1.5h", "bin", "cgi", "proxy", "true", "-1", "99999999999999999999", "@every 1s").Generator.Select(Quote),
            Gen.Elements("~", "null", "[]", "{}", "&a x", "*a", "!!binary AA==", "|\n  text", ">-\n  text", "'unterminated", "\"\\u0000\"", "- a\n- b", "? complex\n: key"));
        var line = Gen.Zip(Gen.Zip(Gen.Elements(keys), scalar), Gen.Choose(0, 3)).Select(static p => new string(' ', p.Item2 * 2) + p.Item1.Item1 + ": " + p.Item1.Item2);
        var document = Gen.Sized(size => Gen.ListOf(line, Math.Max(1, size / 4))).Select(static lines => string.Join('\n', lines) + "\n");
        var mutated = Hostile.Strings("abc: -[]{}&*!|>'\"#\n ", "command: cat\nmode: cgi\nattempts: 2\ninterval: 1s\n", "authorization:\n  jwt:\n    secret: s\ncron:\n  - spec: '@every 1m'\n    content: x\n", "environment:\n  A: b\nworkers: 0\nmax_request: 0\n").Generator;
        return Gen.Frequency((5, document), (4, mutated)).ToArbitrary();
    }

    /// <summary>Half the scalars go bare, half single-quoted (quotes doubled), so both YAML paths are exercised.</summary>
    private static string Quote(string value) => value.Length % 2 == 0 ? value.Replace("\n", " ", StringComparison.Ordinal) : "'" + value.Replace("'", "''", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal) + "'";
}
