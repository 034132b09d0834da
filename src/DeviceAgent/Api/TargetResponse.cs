namespace DeviceAgent.Api;

/// <summary>
/// The answer to <c>GET /api/devices/{device_id}/target</c>: every instance on the device and the
/// version it should run now. The source of truth after a reboot or a lost message.
/// </summary>
internal sealed record TargetResponse(IReadOnlyList<TargetInstance> Instances);

/// <summary>
/// One instance and the version it should run (null: disabled, run nothing new). <see cref="PlanUrl"/>
/// is a path relative to the API's origin, the same a deployment message carries.
/// </summary>
internal sealed record TargetInstance(string NodeServiceInstanceId, string NodeServiceId, int? ContainerVersion, string PlanUrl);

/// <summary>A target answer: <see cref="NotModified"/> when the <c>If-None-Match</c> ETag still holds.</summary>
internal sealed record TargetAnswer(bool NotModified, string? ETag, TargetResponse? Target);
