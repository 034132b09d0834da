using Azure;

namespace Pipeline.Fleet.Networking;

/// <summary>One claimed per-instance range: slot <see cref="Slot"/> of a node service, owned by an instance.</summary>
public sealed record LanLease(string NodeServiceId, long Slot, string InstanceId, DateTimeOffset Claimed, ETag ETag);
