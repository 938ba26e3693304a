using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NanoRun.Bench;

/// <summary>Measured rows (several runs each) and RSS series; written as markdown, JSON and PNG plots.</summary>
internal sealed class Report
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly List<Row> _rows = [];
    private readonly List<Series> _series = [];

    public void Add(string name, string unit, double value)
    {
        var row = _rows.FirstOrDefault(r => r.Name == name);
        if (row is null)
        {
            row = new Row(name, unit, []);
            _rows.Add(row);
        }

        row.Values.Add(Math.Round(value, 2));
        Console.Error.WriteLine(FormattableString.Invariant($"  {name}: {value:0.##} {unit}"));
    }

    public void AddSeries(string name, IReadOnlyList<(double Seconds, double Mb)> samples) =>
        _series.Add(new Series(name, [.. samples.Select(s => Math.Round(s.Seconds, 2))], [.. samples.Select(s => Math.Round(s.Mb, 2))]));

    public string Markdown()
    {
        var runs = _rows.Count == 0 ? 0 : _rows.Max(r => r.Values.Count);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| measure | median of {runs} | unit | all runs |");
        text.AppendLine("|---|---:|---|---|");
        foreach (var row in _rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {row.Name} | {Median(row.Values):0.##} | {row.Unit} | {string.Join(", ", row.Values.Select(v => v.ToString("0.##", CultureInfo.InvariantCulture)))} |");
        }

        return text.ToString();
    }

    /// <summary>Writes report.md, results.json and one rss-*.png per series into <paramref name="folder"/>.</summary>
    public async Task WriteAsync(string folder, string title)
    {
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "report.md"), $"# {title}\n\n{Markdown()}");
        var json = JsonSerializer.Serialize(
            new { title, machine = Environment.ProcessorCount + " cores", rows = _rows.Select(r => new { name = r.Name, unit = r.Unit, median = Median(r.Values), values = r.Values }), series = _series.Select(s => new { name = s.Name, seconds = s.Seconds, rssMb = s.Mb }) },
            Indented);
        await File.WriteAllTextAsync(Path.Combine(folder, "results.json"), json);
        foreach (var group in _series.GroupBy(s => s.Name.Split(',')[0]))
        {
            var plot = new ScottPlot.Plot();
            foreach (var series in group)
            {
                var line = plot.Add.ScatterLine(series.Seconds, series.Mb);
                line.LegendText = series.Name;
            }

            plot.Title($"RSS over time: {group.Key}");
            plot.XLabel("seconds");
            plot.YLabel("RSS (MB)");
            plot.Axes.SetLimitsY(0, Math.Max(70, group.Max(s => s.Mb.Length == 0 ? 0 : s.Mb.Max()) * 1.1));
            plot.ShowLegend(ScottPlot.Alignment.LowerRight);
            plot.SavePng(Path.Combine(folder, "rss-" + Slug(group.Key) + ".png"), 900, 420);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[sorted.Count / 2];
    }

    private static string Slug(string name) =>
        new([.. name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);

    private sealed record Row(string Name, string Unit, List<double> Values);

    private sealed record Series(string Name, double[] Seconds, double[] Mb);
}
