namespace DeviceAgent.Store;

/// <summary>
/// The store's filesystem has no room for a version: found by the free-space check before a
/// download starts, or by a write that failed with ENOSPC. The round fails with this message and
/// the running version stays. Deliberately not an <see cref="IOException"/>, so nothing mistakes it
/// for a dropped connection worth retrying.
/// </summary>
internal sealed class DiskFullException(string message, Exception? inner = null) : Exception(message, inner);
