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
    private readonly List<Chart> _charts = [];

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

    /// <summary>The values measured so far for the row <paramref name="name"/> (empty when there is none).</summary>
    public IReadOnlyList<double> Values(string name) => _rows.FirstOrDefault(r => r.Name == name)?.Values ?? [];

    /// <summary>Adds a chart of lines over one x axis, written as <c>{file}.png</c>.</summary>
    public void AddChart(string file, string title, string xLabel, string yLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> lines) =>
        _charts.Add(new Chart(file, title, xLabel, yLabel, lines));

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

        foreach (var chart in _charts)
        {
            var plot = new ScottPlot.Plot();
            foreach (var (name, x, y) in chart.Lines)
            {
                var line = plot.Add.Scatter(x, y);
                line.LegendText = name;
                line.MarkerSize = 8;
            }

            plot.Title(chart.Title);
            plot.XLabel(chart.XLabel);
            plot.YLabel(chart.YLabel);
            plot.Axes.SetLimitsY(0, chart.Lines.Max(l => l.Y.Length == 0 ? 0 : l.Y.Max()) * 1.15);
            plot.Axes.SetLimitsX(chart.Lines.Min(l => l.X.Min()) - 0.25, chart.Lines.Max(l => l.X.Max()) + 0.25);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
            plot.ShowLegend(ScottPlot.Alignment.LowerRight);
            plot.SavePng(Path.Combine(folder, chart.File + ".png"), 900, 420);
        }
    }

    /// <summary>The middle value (the upper one of an even count); 0 when there is none.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[sorted.Count / 2];
    }

    private static string Slug(string name) =>
        new([.. name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);

    private sealed record Row(string Name, string Unit, List<double> Values);

    private sealed record Chart(string File, string Title, string XLabel, string YLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> Lines);

    private sealed record Series(string Name, double[] Seconds, double[] Mb);
}
