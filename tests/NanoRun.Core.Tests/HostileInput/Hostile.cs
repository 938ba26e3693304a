using System.Diagnostics;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace NanoRun.Core.Tests.HostileInput;

/// <summary>Generators of hostile text and the bounds every parser must keep on it: no crash, no hang, bounded memory.</summary>
internal static class Hostile
{
    /// <summary>Longest time one parser call may take on one input; generous for a loaded 2-core machine.</summary>
    public static readonly TimeSpan MaxCallTime = TimeSpan.FromSeconds(5);

    // Characters that parsers trip over: separators, quotes, escapes, control characters, non-ASCII and surrogates.
    private const string Nasty = " \t\r\n\0:;,.-+*/\\'\"`#@$%&=?!|<>()[]{}~^_\u0085\u00a0\u200b\u2028\ufeff\ud800\udfffµ∞é漢";

    /// <summary>Strings mixing <paramref name="alphabet"/>, nasty characters and random Unicode, mutations of <paramref name="seeds"/>, and long runs.</summary>
    public static Arbitrary<string> Strings(string alphabet, params string[] seeds)
    {
        var chars = Gen.Frequency(
            (6, Gen.Elements(alphabet.ToCharArray())),
            (2, Gen.Elements(Nasty.ToCharArray())),
            (1, Gen.Choose(0, 0xFFFF).Select(static c => (char)c)));
        var random = Gen.Sized(size => Gen.Choose(0, Math.Max(1, size)).SelectMany(n => Gen.ArrayOf(chars, n)).Select(static a => new string(a)));
        var mutated = Gen.Elements(seeds).SelectMany(seed => Gen.ListOf(Edit(chars), 4).Select(edits => Apply(seed, edits)));
        var longRun = Gen.Zip(Gen.Elements(seeds.Length > 0 ? seeds : ["x"]), Gen.Choose(1_000, 20_000)).Select(static p => Repeat(p.Item1, p.Item2));
        return Gen.Frequency((4, random), (seeds.Length > 0 ? 5 : 0, mutated), (1, longRun), (1, Gen.Constant(string.Empty))).ToArbitrary();
    }

    /// <summary>Runs <paramref name="call"/> and fails when it takes longer than <see cref="MaxCallTime"/> or allocates more than <paramref name="maxBytes"/> on this thread.</summary>
    public static void Bounded(string input, long maxBytes, Action call)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();

        call();

        var elapsed = clock.Elapsed;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(elapsed < MaxCallTime, $"took {elapsed} on input of {input.Length} chars: {Preview(input)}");
        Assert.True(allocated <= maxBytes, $"allocated {allocated} bytes on input of {input.Length} chars: {Preview(input)}");
    }

    /// <summary>The start of <paramref name="input"/> with escapes, for failure messages.</summary>
    public static string Preview(string input)
    {
        var builder = new StringBuilder();
        foreach (var c in input.Length > 200 ? input[..200] : input)
        {
            builder.Append(c is >= ' ' and < (char)0x7f ? c.ToString() : $"\\u{(int)c:x4}");
        }

        return builder.ToString();
    }

    private static Gen<(int Kind, int Position, char Char)> Edit(Gen<char> chars) =>
        Gen.Zip(Gen.Zip(Gen.Choose(0, 2), Gen.Choose(0, 1000)), chars).Select(static p => (p.Item1.Item1, p.Item1.Item2, p.Item2));

    private static string Apply(string seed, IEnumerable<(int Kind, int Position, char Char)> edits)
    {
        var builder = new StringBuilder(seed);
        foreach (var (kind, position, c) in edits)
        {
            var at = builder.Length == 0 ? 0 : position % (builder.Length + 1);
            switch (kind)
            {
                case 0:
                    builder.Insert(at, c);
                    break;
                case 1 when at < builder.Length:
                    builder.Remove(at, 1);
                    break;
                case 2 when at < builder.Length:
                    builder[at] = c;
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        return builder.ToString();
    }

    private static string Repeat(string seed, int length)
    {
        var builder = new StringBuilder(length + seed.Length);
        while (builder.Length < length)
        {
            builder.Append(seed);
        }

        return builder.ToString();
    }
}
