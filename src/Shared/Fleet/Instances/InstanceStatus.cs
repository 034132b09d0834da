namespace Pipeline.Fleet.Instances;

/// <summary>
/// The last report a device made about an instance (API.md <c>InstanceStatus</c> and
/// <c>POST …/status</c>): the version it concerns, what the device is doing with it, whether it
/// is healthy, a message for people, and when the report arrived (server time).
/// </summary>
public sealed record InstanceStatus(int ContainerVersion, string State, bool Healthy, string? Message, DateTimeOffset ReportedAt)
{
    public const string Downloading = "downloading";
    public const string Running = "running";
    public const string Failed = "failed";

    /// <summary>The states a device may report.</summary>
    public static readonly IReadOnlySet<string> States = new HashSet<string>(StringComparer.Ordinal) { Downloading, Running, Failed };

    /// <summary>A message is for people; longer ones are refused rather than cut.</summary>
    public const int MaxMessageChars = 1000;
}
