using System.Globalization;
using System.Net;
using System.Text;
using NanoRun.Storage;

namespace NanoRun.AspNetCore.Ui;

/// <summary>
/// Draws an activity count as an inline SVG bar chart: received requests as bars, succeeded as a line, failed as red
/// bars that link to the list of failed requests. A pure function of the counts; the page's stylesheet colours it by
/// class, so it needs no inline style and no script. The drawing scales to its box through its <c>viewBox</c>.
/// </summary>
internal static class ActivityChart
{
    /// <summary>Width of the full chart's drawing, in SVG units.</summary>
    public const int Width = 600;

    /// <summary>Height of the full chart's drawing, in SVG units.</summary>
    public const int Height = 200;

    /// <summary>Width of the overview's small chart, in SVG units.</summary>
    public const int SmallWidth = 240;

    /// <summary>Height of the overview's small chart, in SVG units.</summary>
    public const int SmallHeight = 48;

    /// <summary>Font size of the full chart's labels, in SVG units, as the stylesheet sets it (<c>svg.chart text</c>).</summary>
    public const int LabelFontSize = 20;

    /// <summary>
    /// Room one label character takes, in SVG units: 0.6 of the font size, more than the digits, colon and capitals of
    /// the sans-serif faces the stylesheet names. Labels are placed so that this estimate stays inside the drawing.
    /// </summary>
    public const double LabelCharWidth = LabelFontSize * 0.6;

    // The full chart's plot area: room on the left for the scale (more when its top number is long), below for the time axis.
    private const int Left = 44;
    private const int ScaleGap = 6;
    private const int Right = 8;
    private const int Top = 10;
    private const int Bottom = 34;

    /// <summary>Draws <paramref name="buckets"/>, the first starting at <paramref name="from"/>, each <paramref name="width"/> long.</summary>
    /// <param name="buckets">The counts in time order.</param>
    /// <param name="from">The start of the first bucket.</param>
    /// <param name="width">Each bucket's length.</param>
    /// <param name="title">The chart's accessible name, such as "Requests per minute, last hour".</param>
    /// <param name="failedHref">Where a failed bar leads, or <c>null</c> for no links.</param>
    /// <param name="small">Draw the overview's small chart: no scale, no axis, no per-bar titles.</param>
    public static string Render(IReadOnlyList<ActivityBucket> buckets, DateTimeOffset from, TimeSpan width, string title, string? failedHref, bool small = false)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        long max = 0;
        long received = 0;
        long succeeded = 0;
        long failed = 0;
        foreach (var bucket in buckets)
        {
            max = Math.Max(max, Math.Max(bucket.Received, Math.Max(bucket.Succeeded, bucket.Failed)));
            received += bucket.Received;
            succeeded += bucket.Succeeded;
            failed += bucket.Failed;
        }

        var w = small ? SmallWidth : Width;
        var h = small ? SmallHeight : Height;
        var left = small ? 0 : Math.Max(Left, ScaleGap + (int)Math.Ceiling(Num(max).Length * LabelCharWidth));
        var right = small ? 0 : Right;
        var top = small ? 2 : Top;
        var bottom = small ? 0 : Bottom;
        var plotWidth = w - left - right;
        var plotHeight = h - top - bottom;
        var baseline = top + plotHeight;

        var scale = max == 0 ? 0 : plotHeight / (double)max;
        var slot = buckets.Count == 0 ? plotWidth : plotWidth / (double)buckets.Count;
        var svg = new StringBuilder(4096);
        svg.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart").Append(small ? " small" : null)
            .Append("\" viewBox=\"0 0 ").Append(Num(w)).Append(' ').Append(Num(h))
            .Append("\" role=\"img\" preserveAspectRatio=\"xMidYMid meet\"><title>")
            .Append(Escape(Summary(title, received, succeeded, failed)))
            .Append("</title>");
        svg.Append("<line class=\"base\" x1=\"").Append(Num(left)).Append("\" y1=\"").Append(Num(baseline))
            .Append("\" x2=\"").Append(Num(w - right)).Append("\" y2=\"").Append(Num(baseline)).Append("\"/>");
        if (!small)
        {
            svg.Append("<line class=\"grid\" x1=\"").Append(Num(left)).Append("\" y1=\"").Append(Num(top))
                .Append("\" x2=\"").Append(Num(w - right)).Append("\" y2=\"").Append(Num(top)).Append("\"/>");
            svg.Append("<text class=\"scale\" x=\"").Append(Num(left - ScaleGap)).Append("\" y=\"").Append(Num(top + 6))
                .Append("\" text-anchor=\"end\">").Append(Num(max)).Append("</text>");
            svg.Append("<text class=\"scale\" x=\"").Append(Num(left - ScaleGap)).Append("\" y=\"").Append(Num(baseline))
                .Append("\" text-anchor=\"end\">0</text>");
        }

        for (var i = 0; i < buckets.Count; i++)
        {
            var bucket = buckets[i];
            if (bucket.Received == 0)
            {
                continue;
            }

            var barHeight = bucket.Received * scale;
            svg.Append("<rect class=\"received\" x=\"").Append(Num(left + (i * slot) + (slot * 0.1))).Append("\" y=\"").Append(Num(baseline - barHeight))
                .Append("\" width=\"").Append(Num(slot * 0.8)).Append("\" height=\"").Append(Num(barHeight)).Append("\">");
            if (!small)
            {
                svg.Append("<title>").Append(Escape(BucketTitle(from + (width * i), width, bucket))).Append("</title>");
            }

            svg.Append("</rect>");
        }

        if (succeeded > 0)
        {
            svg.Append("<path class=\"succeeded\" d=\"");
            for (var i = 0; i < buckets.Count; i++)
            {
                svg.Append(i == 0 ? 'M' : 'L').Append(Num(left + (i * slot) + (slot / 2))).Append(' ').Append(Num(baseline - (buckets[i].Succeeded * scale)));
            }

            svg.Append("\"/>");
        }

        for (var i = 0; i < buckets.Count; i++)
        {
            var bucket = buckets[i];
            if (bucket.Failed == 0)
            {
                continue;
            }

            var barHeight = Math.Max(bucket.Failed * scale, 2);
            if (failedHref is not null)
            {
                svg.Append("<a href=\"").Append(Escape(failedHref)).Append("\">");
            }

            svg.Append("<rect class=\"failed\" x=\"").Append(Num(left + (i * slot) + (slot * 0.3))).Append("\" y=\"").Append(Num(baseline - barHeight))
                .Append("\" width=\"").Append(Num(slot * 0.4)).Append("\" height=\"").Append(Num(barHeight)).Append("\">");
            if (!small)
            {
                svg.Append("<title>").Append(Escape(BucketTitle(from + (width * i), width, bucket))).Append("</title>");
            }

            svg.Append("</rect>");
            if (failedHref is not null)
            {
                svg.Append("</a>");
            }
        }

        if (!small)
        {
            AppendAxis(svg, buckets.Count, from, width, left, slot, baseline, w);
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>The chart's accessible name with its totals, such as "… (UTC): 12 received, 10 succeeded, 2 failed".</summary>
    public static string Summary(string title, long received, long succeeded, long failed) =>
        string.Create(CultureInfo.InvariantCulture, $"{title} (UTC): {received} received, {succeeded} succeeded, {failed} failed");

    /// <summary>
    /// Time labels under the plot at round times (every 15 minutes for minute buckets, every 6 hours for longer ones),
    /// marked UTC at the end. A label is centred on its tick unless that would cross an edge of the drawing, as the
    /// one at the plot's right end would: then it ends (or starts) at its tick.
    /// </summary>
    private static void AppendAxis(StringBuilder svg, int count, DateTimeOffset from, TimeSpan width, int left, double slot, int baseline, int drawingWidth)
    {
        var step = width < TimeSpan.FromHours(1) ? TimeSpan.FromMinutes(15) : TimeSpan.FromHours(6);
        var y = baseline + 20;
        for (var i = 0; i <= count; i++)
        {
            var at = from + (width * i);
            if (at.UtcTicks % step.Ticks != 0)
            {
                continue;
            }

            var x = left + (i * slot);
            var label = at.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture);
            var half = label.Length * LabelCharWidth / 2;
            var anchor = x + half > drawingWidth ? "end" : x - half < 0 ? "start" : "middle";
            svg.Append("<line class=\"tick\" x1=\"").Append(Num(x)).Append("\" y1=\"").Append(Num(baseline))
                .Append("\" x2=\"").Append(Num(x)).Append("\" y2=\"").Append(Num(baseline + 5)).Append("\"/>");
            svg.Append("<text class=\"axis\" x=\"").Append(Num(x)).Append("\" y=\"").Append(Num(y))
                .Append("\" text-anchor=\"").Append(anchor).Append("\">").Append(label).Append("</text>");
        }

        svg.Append("<text class=\"axis zone\" x=\"").Append(Num(left + (count * slot))).Append("\" y=\"").Append(Num(y + 13))
            .Append("\" text-anchor=\"end\">UTC</text>");
    }

    private static string BucketTitle(DateTimeOffset start, TimeSpan width, ActivityBucket bucket) =>
        string.Create(CultureInfo.InvariantCulture, $"{start.UtcDateTime:HH:mm}–{(start + width).UtcDateTime:HH:mm} UTC: {bucket.Received} received, {bucket.Succeeded} succeeded, {bucket.Failed} failed");

    private static string Num(double value) => Math.Round(value, 1).ToString("0.#", CultureInfo.InvariantCulture);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
