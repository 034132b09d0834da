namespace Pipeline.Fleet.Devices;

/// <summary>
/// A registered device (API.md <c>Device</c>): its global id (like a serial number), the one
/// customer that owns it, its architecture and its update window, if any.
/// </summary>
public sealed record Device(string DeviceId, string CustomerId, string Arch, UpdateWindow? UpdateWindow);
