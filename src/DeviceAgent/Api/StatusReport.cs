namespace DeviceAgent.Api;

/// <summary>
/// The body of <c>POST /api/devices/{device_id}/instances/{instance_id}/status</c>: the state of
/// one instance at one version (<c>downloading</c>, <c>running</c> or <c>failed</c>).
/// </summary>
internal sealed record StatusReport(int ContainerVersion, string State, bool Healthy, string? Message)
{
    public const string Downloading = "downloading";
    public const string Running = "running";
    public const string Failed = "failed";

    /// <summary>The API refuses longer messages.</summary>
    public const int MaxMessageChars = 1000;

    /// <summary>A message the API accepts: at most <see cref="MaxMessageChars"/> characters.</summary>
    public static string? Trim(string? message) =>
        message is null || message.Length <= MaxMessageChars ? message : message[..(MaxMessageChars - 1)] + "…";
}
