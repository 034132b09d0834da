using System.Globalization;

namespace Pipeline.Fleet.Devices;

/// <summary>
/// A device's daily update window (API.md <c>DM_set_device_update_window</c>, <c>TimeSpanInput</c>):
/// from <see cref="Start"/> to <see cref="End"/> local time in an IANA time zone, every day;
/// when End is earlier than Start the window crosses midnight (22:00–02:00). A deployment for
/// the device waits for the window (<see cref="Evaluate"/>).
/// <para>
/// Local times that do not exist or exist twice around a daylight-saving change are read so the
/// window never disappears and covers every moment whose wall-clock time lies inside it:
/// a time skipped by a spring-forward change is moved forward by the length of the gap (in
/// Berlin on 31 March 2024, 02:30 becomes 03:30 CEST, as the clock would read had it not
/// jumped); a start that occurs twice on a fall-back day is its first occurrence and an end that
/// occurs twice is its second, so the window is an hour longer in real time that night.
/// </para>
/// </summary>
public sealed record UpdateWindow
{
    private const string TimeFormat = "HH':'mm";

    private UpdateWindow(TimeOnly start, TimeOnly end, TimeZoneInfo zone)
    {
        Start = start;
        End = end;
        Zone = zone;
    }

    public TimeOnly Start { get; }

    public TimeOnly End { get; }

    /// <summary>The IANA zone the times are in.</summary>
    public TimeZoneInfo Zone { get; }

    public string TimeZoneId => Zone.Id;

    public string StartText => Start.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public string EndText => End.ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>
    /// Validates a window: <c>HH:mm</c> times (00:00–23:59) that differ, and an IANA zone id
    /// (default <c>UTC</c>). <c>BAD_INPUT</c> naming the field otherwise.
    /// </summary>
    public static UpdateWindow Parse(string? start, string? end, string? timeZone, string field = "time_span")
    {
        var s = ParseTime(start, $"{field}.start");
        var e = ParseTime(end, $"{field}.end");
        if (s == e)
        {
            throw new PipelineException(ErrorCodes.BadInput, $"{field}: start and end are both {start}; a window needs some length.");
        }
        string zoneId = string.IsNullOrWhiteSpace(timeZone) ? "UTC" : timeZone.Trim();
        TimeZoneInfo? zone = null;
        if (zoneId.Length <= 64)
        {
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
            }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
            }
        }
        // Windows zone names resolve on Linux too, but the contract says IANA.
        if (zone is null || !zone.HasIanaId)
        {
            throw new PipelineException(ErrorCodes.BadInput, $"{field}.timezone: '{timeZone}' is not an IANA time zone such as Europe/Berlin.");
        }
        return new UpdateWindow(s, e, zone);
    }

    /// <summary>Whether the window crosses midnight (22:00–02:00).</summary>
    public bool CrossesMidnight => End < Start;

    /// <summary>Whether <paramref name="now"/> is inside a window, and when the next one opens.</summary>
    public UpdateWindowEvaluation Evaluate(DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, Zone).DateTime);
        bool inside = false;
        DateTimeOffset? next = null;
        // Yesterday's window may still be open (across midnight); tomorrow's always opens after now.
        for (int d = -1; d <= 1; d++)
        {
            var (open, close) = Occurrence(today.AddDays(d));
            inside |= open <= now && now < close;
            if (open > now && (next is null || open < next))
            {
                next = open;
            }
        }
        return new UpdateWindowEvaluation(inside, TimeZoneInfo.ConvertTime(next!.Value, Zone));
    }

    /// <summary>The earliest moment from <paramref name="now"/> on at which the device may be updated.</summary>
    public DateTimeOffset EarliestUpdate(DateTimeOffset now) => Evaluate(now) is { InsideNow: false } e ? e.NextStart : now;

    /// <summary>The window that opens on local date <paramref name="day"/>, as instants.</summary>
    public (DateTimeOffset Open, DateTimeOffset Close) Occurrence(DateOnly day)
    {
        var open = ToInstant(day.ToDateTime(Start), first: true);
        var close = ToInstant((CrossesMidnight ? day.AddDays(1) : day).ToDateTime(End), first: false);
        return (open, close);
    }

    private DateTimeOffset ToInstant(DateTime local, bool first)
    {
        if (Zone.IsInvalidTime(local))
        {
            // Skipped by a spring-forward change: read it with the offset in force before the
            // change, which lands it as far after the change as it was after the change's start.
            var before = new DateTimeOffset(local, TimeSpan.Zero) - Zone.BaseUtcOffset - TimeSpan.FromHours(6);
            return new DateTimeOffset(local, Zone.GetUtcOffset(before));
        }
        if (Zone.IsAmbiguousTime(local))
        {
            var offsets = Zone.GetAmbiguousTimeOffsets(local);
            // The larger offset is the earlier instant.
            return new DateTimeOffset(local, first ? offsets.Max() : offsets.Min());
        }
        return new DateTimeOffset(local, Zone.GetUtcOffset(local));
    }

    private static TimeOnly ParseTime(string? text, string field) =>
        text is { Length: 5 } && TimeOnly.TryParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? time
            : throw new PipelineException(ErrorCodes.BadInput, $"{field}: '{text}' is not a time of day as HH:mm (00:00-23:59).");
}
