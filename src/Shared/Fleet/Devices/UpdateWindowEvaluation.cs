namespace Pipeline.Fleet.Devices;

/// <summary>
/// Where a moment falls relative to a device's update window: inside it or not, and when the
/// next window opens (always after the moment, in the window's time zone's offset).
/// </summary>
public readonly record struct UpdateWindowEvaluation(bool InsideNow, DateTimeOffset NextStart);
