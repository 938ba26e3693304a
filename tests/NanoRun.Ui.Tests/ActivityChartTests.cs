using System.Text.RegularExpressions;
using NanoRun.AspNetCore.Ui;
using NanoRun.Storage;

namespace NanoRun.Ui.Tests;

/// <summary>The chart drawing as a pure function: what it draws for given counts.</summary>
public sealed partial class ActivityChartTests
{
    private static readonly DateTimeOffset From = new(2026, 1, 2, 13, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Render_MixedCounts_DrawsABarPerReceivedBucketOneLineAndLinkedFailedBars()
    {
        var buckets = new ActivityBucket[60];
        buckets[3] = new ActivityBucket(10, 8, 2);
        buckets[30] = new ActivityBucket(5, 5, 0);
        buckets[59] = new ActivityBucket(1, 0, 1);

        var svg = ActivityChart.Render(buckets, From, TimeSpan.FromMinutes(1), "Requests per minute, last hour", "/ui/units/job?state=failed");

        Assert.Equal(3, Count(svg, "<rect class=\"received\""));
        Assert.Equal(1, Count(svg, "<path class=\"succeeded\""));
        Assert.Equal(2, Count(svg, "<rect class=\"failed\""));
        Assert.Equal(2, Count(svg, "<a href=\"/ui/units/job?state=failed\">"));
        Assert.Contains("<title>Requests per minute, last hour (UTC): 16 received, 13 succeeded, 3 failed</title>", svg, StringComparison.Ordinal);
        Assert.StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 600 200\"", svg, StringComparison.Ordinal);
        Assert.EndsWith("</svg>", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_TallestBucket_FillsThePlotHeightAndOthersScale()
    {
        var buckets = new ActivityBucket[4];
        buckets[0] = new ActivityBucket(40, 0, 0);
        buckets[1] = new ActivityBucket(10, 0, 0);

        var svg = ActivityChart.Render(buckets, From, TimeSpan.FromHours(1), "t", failedHref: null);
        var heights = Heights().Matches(svg).Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();

        // The plot is 200 − 10 (top) − 34 (axis) = 156 units high.
        Assert.Equal([156, 39], heights);
        Assert.Contains(">40</text>", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_NoRequests_DrawsAxisOnlyWithZeroTotals()
    {
        var svg = ActivityChart.Render(new ActivityBucket[24], From, TimeSpan.FromHours(1), "Requests per hour, last day", "/f");

        Assert.Equal(0, Count(svg, "<rect"));
        Assert.Equal(0, Count(svg, "<path"));
        Assert.Equal(0, Count(svg, "<a "));
        Assert.Contains("0 received, 0 succeeded, 0 failed", svg, StringComparison.Ordinal);
        Assert.Contains(">00:00</text>", svg, StringComparison.Ordinal);
        Assert.Contains(">18:00</text>", svg, StringComparison.Ordinal);
        Assert.Contains(">UTC</text>", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_MinuteBuckets_LabelsEveryQuarterHourInUtc()
    {
        var offsetFrom = new DateTimeOffset(2026, 1, 2, 15, 0, 0, TimeSpan.FromHours(2));

        var svg = ActivityChart.Render(new ActivityBucket[60], offsetFrom, TimeSpan.FromMinutes(1), "t", null);

        Assert.Equal(["13:00", "13:15", "13:30", "13:45", "14:00"], AxisLabels().Matches(svg).Select(m => m.Groups[1].Value));
    }

    [Fact]
    public void Render_HostileTitleAndLink_AreEscaped()
    {
        var buckets = new[] { new ActivityBucket(1, 0, 1) };

        var svg = ActivityChart.Render(buckets, From, TimeSpan.FromMinutes(1), "<script>alert(1)</script>", "/ui/units/a\"onclick=\"x&y");

        Assert.DoesNotContain("<script>", svg, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", svg, StringComparison.Ordinal);
        Assert.Contains("<a href=\"/ui/units/a&quot;onclick=&quot;x&amp;y\">", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_Small_HasNoAxisOrScale()
    {
        var buckets = new[] { new ActivityBucket(3, 2, 1), default };

        var svg = ActivityChart.Render(buckets, From, TimeSpan.FromHours(1), "t", "/f", small: true);

        Assert.Contains("class=\"chart small\" viewBox=\"0 0 240 48\"", svg, StringComparison.Ordinal);
        Assert.Equal(0, Count(svg, "<text"));
        Assert.Equal(1, Count(svg, "<rect class=\"received\""));
        Assert.Equal(1, Count(svg, "<rect class=\"failed\""));
    }

    [Theory]
    [InlineData(60, 1, 13)]
    [InlineData(24, 60, 18)]
    [InlineData(24, 60, 13)]
    [InlineData(24, 60, 0)]
    public void Render_LabelsAtTheEdgesAndALongScale_EveryLabelStaysInsideTheDrawing(int count, int bucketMinutes, int startHour)
    {
        var buckets = new ActivityBucket[count];
        buckets[count - 1] = new ActivityBucket(123456, 123000, 456);
        var from = new DateTimeOffset(2026, 1, 2, startHour, 0, 0, TimeSpan.Zero);

        var svg = ActivityChart.Render(buckets, from, TimeSpan.FromMinutes(bucketMinutes), "t", "/f");
        var box = ViewBox().Match(svg);
        var width = double.Parse(box.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var height = double.Parse(box.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        var labels = Labels().Matches(svg).Select(m => Extent(m)).ToList();

        Assert.True(box.Success, "the chart has no viewBox");
        Assert.True(labels.Count >= 5, $"only {labels.Count} labels drawn");
        Assert.All(labels, l => Assert.True(l.Left >= 0 && l.Right <= width && l.Y >= 0 && l.Y <= height, $"label \"{l.Text}\" spans x {l.Left}..{l.Right} at y {l.Y}, outside 0..{width} × 0..{height}"));
    }

    /// <summary>A text element's horizontal extent from its anchor and the chart's own per-character estimate.</summary>
    private static (string Text, double Left, double Right, double Y) Extent(Match label)
    {
        var x = double.Parse(label.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var y = double.Parse(label.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        var text = System.Net.WebUtility.HtmlDecode(label.Groups[4].Value);
        var length = text.Length * ActivityChart.LabelCharWidth;
        return label.Groups[3].Value switch
        {
            "start" => (text, x, x + length, y),
            "end" => (text, x - length, x, y),
            _ => (text, x - (length / 2), x + (length / 2), y),
        };
    }

    private static int Count(string text, string part) => Regex.Count(text, Regex.Escape(part));

    [GeneratedRegex("<rect class=\"received\"[^>]* height=\"([0-9.]+)\"")]
    private static partial Regex Heights();

    [GeneratedRegex("<text class=\"axis\"[^>]*>([0-9:]+)</text>")]
    private static partial Regex AxisLabels();

    [GeneratedRegex("viewBox=\"0 0 ([0-9.]+) ([0-9.]+)\"")]
    private static partial Regex ViewBox();

    [GeneratedRegex("<text class=\"[^\"]*\" x=\"(-?[0-9.]+)\" y=\"(-?[0-9.]+)\" text-anchor=\"(start|middle|end)\">([^<]*)</text>")]
    private static partial Regex Labels();
}
