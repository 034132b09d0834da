namespace Pipeline.Api.Devices;

/// <summary>
/// The device routes of API.md "Devices", relative to the hosts' <c>/api</c> prefix (the form
/// the Functions host's triggers take; LocalHost adds the prefix).
/// </summary>
public static class DeviceRoutes
{
    public const string Plan = "devices/{deviceId}/instances/{instanceId}/plan";
    public const string Status = "devices/{deviceId}/instances/{instanceId}/status";
    public const string Target = "devices/{deviceId}/target";

    /// <summary>
    /// The plan URL of an instance, relative to the API's origin (<c>/api/devices/…/plan</c>):
    /// the device already knows which host it talks to, and a message or a target built without
    /// a request still names the right route.
    /// </summary>
    public static string PlanUrl(string deviceId, string instanceId) =>
        $"/api/devices/{Uri.EscapeDataString(deviceId)}/instances/{Uri.EscapeDataString(instanceId)}/plan";
}
