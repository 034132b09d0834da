using Pipeline.Fleet.Devices;

namespace Pipeline.Tests.Fleet.Devices;

/// <summary>
/// Update window maths: within a day, across midnight, and across daylight-saving changes in
/// Europe/Berlin (2024-03-31 02:00 CET → 03:00 CEST; 2024-10-27 03:00 CEST → 02:00 CET) and
/// America/New_York (2024-03-10 02:00 EST → 03:00 EDT; 2024-11-03 02:00 EDT → 01:00 EST).
/// </summary>
public sealed class UpdateWindowTests
{
    private static void AssertEvaluation(UpdateWindow window, string now, bool inside, string nextStart)
    {
        var result = window.Evaluate(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture));
        var expected = DateTimeOffset.Parse(nextStart, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(inside, result.InsideNow);
        Assert.Equal(expected, result.NextStart);
        Assert.Equal(expected.Offset, result.NextStart.Offset);
    }

    [Theory]
    [InlineData("2024-05-01T01:00:00Z", false, "2024-05-01T02:00:00+00:00")]
    [InlineData("2024-05-01T02:00:00Z", true, "2024-05-02T02:00:00+00:00")]
    [InlineData("2024-05-01T03:00:00Z", true, "2024-05-02T02:00:00+00:00")]
    [InlineData("2024-05-01T04:29:59Z", true, "2024-05-02T02:00:00+00:00")]
    [InlineData("2024-05-01T04:30:00Z", false, "2024-05-02T02:00:00+00:00")]
    [InlineData("2024-05-01T23:59:00Z", false, "2024-05-02T02:00:00+00:00")]
    public void Evaluate_WindowWithinADay_InsideFromStartUntilEnd(string now, bool inside, string next)
    {
        AssertEvaluation(UpdateWindow.Parse("02:00", "04:30", null), now, inside, next);
    }

    [Theory]
    [InlineData("2024-06-10T21:30:00+02:00", false, "2024-06-10T22:00:00+02:00")]
    [InlineData("2024-06-10T23:30:00+02:00", true, "2024-06-11T22:00:00+02:00")]
    [InlineData("2024-06-11T01:59:00+02:00", true, "2024-06-11T22:00:00+02:00")]
    [InlineData("2024-06-11T02:00:00+02:00", false, "2024-06-11T22:00:00+02:00")]
    [InlineData("2024-06-10T23:00:00Z", true, "2024-06-11T22:00:00+02:00")]
    public void Evaluate_WindowAcrossMidnight_InsideOnBothSidesOfMidnight(string now, bool inside, string next)
    {
        var window = UpdateWindow.Parse("22:00", "02:00", "Europe/Berlin");
        Assert.True(window.CrossesMidnight);
        AssertEvaluation(window, now, inside, next);
    }

    [Theory]
    // 02:00 does not exist on 2024-03-31 in Berlin: the window opens at 03:00 CEST (01:00Z).
    [InlineData("2024-03-31T00:30:00Z", false, "2024-03-31T03:00:00+02:00")]
    [InlineData("2024-03-31T01:00:00Z", true, "2024-04-01T02:00:00+02:00")]
    [InlineData("2024-03-31T02:29:00Z", true, "2024-04-01T02:00:00+02:00")]
    [InlineData("2024-03-31T02:30:00Z", false, "2024-04-01T02:00:00+02:00")]
    // The day before, the next start is in CEST although now is CET.
    [InlineData("2024-03-30T12:00:00+01:00", false, "2024-03-31T03:00:00+02:00")]
    public void Evaluate_BerlinSpringForward_StartInTheGapOpensWhenTheClockJumps(string now, bool inside, string next)
    {
        AssertEvaluation(UpdateWindow.Parse("02:00", "04:30", "Europe/Berlin"), now, inside, next);
    }

    [Fact]
    public void Evaluate_BerlinSpringForward_SkippedStartMovesForwardByTheGap()
    {
        // 02:30 is skipped: read with the offset before the jump, it is 03:30 CEST.
        AssertEvaluation(UpdateWindow.Parse("02:30", "05:00", "Europe/Berlin"), "2024-03-31T00:00:00Z", false, "2024-03-31T03:30:00+02:00");
        // A window lying wholly in the gap still opens, for the same length.
        var inGap = UpdateWindow.Parse("02:10", "02:40", "Europe/Berlin").Occurrence(new DateOnly(2024, 3, 31));
        Assert.Equal(DateTimeOffset.Parse("2024-03-31T03:10:00+02:00", System.Globalization.CultureInfo.InvariantCulture), inGap.Open);
        Assert.Equal(TimeSpan.FromMinutes(30), inGap.Close - inGap.Open);
    }

    [Theory]
    // 02:00–03:00 happens twice on 2024-10-27: opens at the first 02:00 (CEST, 00:00Z), closes at 03:00 CET (02:00Z).
    [InlineData("2024-10-26T23:59:00Z", false, "2024-10-27T02:00:00+02:00")]
    [InlineData("2024-10-27T00:30:00Z", true, "2024-10-28T02:00:00+01:00")]
    [InlineData("2024-10-27T01:30:00Z", true, "2024-10-28T02:00:00+01:00")]
    [InlineData("2024-10-27T02:00:00Z", false, "2024-10-28T02:00:00+01:00")]
    public void Evaluate_BerlinFallBack_AmbiguousStartIsItsFirstOccurrence(string now, bool inside, string next)
    {
        var window = UpdateWindow.Parse("02:00", "03:00", "Europe/Berlin");
        AssertEvaluation(window, now, inside, next);
        var night = window.Occurrence(new DateOnly(2024, 10, 27));
        Assert.Equal(TimeSpan.FromHours(2), night.Close - night.Open);
    }

    [Theory]
    // The end 02:30 happens twice: the window closes at the second one (CET, 01:30Z).
    [InlineData("2024-10-27T00:45:00Z", true)]
    [InlineData("2024-10-27T01:15:00Z", true)]
    [InlineData("2024-10-27T01:30:00Z", false)]
    public void Evaluate_BerlinFallBack_AmbiguousEndIsItsSecondOccurrence(string now, bool inside)
    {
        AssertEvaluation(UpdateWindow.Parse("01:00", "02:30", "Europe/Berlin"), now, inside, "2024-10-28T01:00:00+01:00");
    }

    [Theory]
    // 02:15 does not exist on 2024-03-10 in New York: opens at 03:15 EDT (07:15Z).
    [InlineData("2024-03-10T06:00:00Z", false, "2024-03-10T03:15:00-04:00")]
    [InlineData("2024-03-10T07:30:00Z", true, "2024-03-11T02:15:00-04:00")]
    [InlineData("2024-03-10T08:59:00Z", true, "2024-03-11T02:15:00-04:00")]
    [InlineData("2024-03-10T09:00:00Z", false, "2024-03-11T02:15:00-04:00")]
    public void Evaluate_NewYorkSpringForward(string now, bool inside, string next)
    {
        AssertEvaluation(UpdateWindow.Parse("02:15", "05:00", "America/New_York"), now, inside, next);
    }

    [Theory]
    // 23:00 EDT on 2 November (03:00Z) to 03:00 EST on 3 November (08:00Z): five hours that night.
    [InlineData("2024-11-03T02:59:00Z", false, "2024-11-02T23:00:00-04:00")]
    [InlineData("2024-11-03T03:00:00Z", true, "2024-11-03T23:00:00-05:00")]
    [InlineData("2024-11-03T06:30:00Z", true, "2024-11-03T23:00:00-05:00")]
    [InlineData("2024-11-03T07:59:00Z", true, "2024-11-03T23:00:00-05:00")]
    [InlineData("2024-11-03T08:00:00Z", false, "2024-11-03T23:00:00-05:00")]
    public void Evaluate_NewYorkFallBack_AcrossMidnight(string now, bool inside, string next)
    {
        AssertEvaluation(UpdateWindow.Parse("23:00", "03:00", "America/New_York"), now, inside, next);
    }

    [Fact]
    public void Evaluate_NextStartAfterTheChange_CarriesTheNewOffset()
    {
        var window = UpdateWindow.Parse("09:00", "10:00", "America/New_York");
        var now = DateTimeOffset.Parse("2024-11-02T16:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

        var result = window.Evaluate(now);

        Assert.False(result.InsideNow);
        Assert.Equal(DateTimeOffset.Parse("2024-11-03T14:00:00Z", System.Globalization.CultureInfo.InvariantCulture), result.NextStart);
        Assert.Equal(TimeSpan.FromHours(-5), result.NextStart.Offset);
        Assert.Equal(result.NextStart, window.EarliestUpdate(now));
        Assert.Equal(now.AddHours(22.5), window.EarliestUpdate(now.AddHours(22.5)));
    }

    [Theory]
    [InlineData("2:00", "04:00", null, "time_span.start")]
    [InlineData("02:00", "24:00", null, "time_span.end")]
    [InlineData("02:60", "04:00", null, "time_span.start")]
    [InlineData("02:00:00", "04:00", null, "time_span.start")]
    [InlineData("", "04:00", null, "time_span.start")]
    [InlineData("02:00", "02:00", null, "time_span")]
    [InlineData("02:00", "04:00", "Mars/Olympus_Mons", "time_span.timezone")]
    [InlineData("02:00", "04:00", "Eastern Standard Time", "time_span.timezone")]
    [InlineData("02:00", "04:00", "../../etc/passwd", "time_span.timezone")]
    public void Parse_Invalid_IsBadInputNamingTheField(string start, string end, string? zone, string field)
    {
        var e = Assert.Throws<PipelineException>(() => UpdateWindow.Parse(start, end, zone));
        Assert.Equal(ErrorCodes.BadInput, e.Code);
        Assert.StartsWith(field + ":", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NoZone_IsUtc()
    {
        var window = UpdateWindow.Parse("00:00", "23:59", null);
        Assert.Equal("UTC", window.TimeZoneId);
        Assert.Equal("00:00", window.StartText);
        Assert.Equal("23:59", window.EndText);
    }
}
