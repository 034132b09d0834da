namespace Pipeline.Fleet.Instances;

/// <summary>
/// What a device's reports made of an instance's part in a rollout: healthy, or failed. It only
/// moves forward (nothing → healthy → failed, or nothing → failed), from the first report of
/// the rolling version that says so, so a report sent twice, late or for an older version
/// changes nothing (TEST-MATRIX row 33).
/// </summary>
public sealed record RolloutResult(int Version, bool Healthy, DateTimeOffset At)
{
    /// <summary>
    /// The result a report leads to from <paramref name="current"/>, or null when the report does
    /// not move it: not about <paramref name="rollingVersion"/>, still downloading, or no worse
    /// than what was already recorded.
    /// </summary>
    public static RolloutResult? Next(RolloutResult? current, int rollingVersion, InstanceStatus report)
    {
        if (report.ContainerVersion != rollingVersion || report.State == InstanceStatus.Downloading)
        {
            return null;
        }
        bool healthy = report.State == InstanceStatus.Running && report.Healthy;
        if (current is { } known && known.Version == rollingVersion && (!known.Healthy || healthy))
        {
            return null;
        }
        return new RolloutResult(rollingVersion, healthy, report.ReportedAt);
    }
}
