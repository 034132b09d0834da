namespace DeviceAgent.Store;

/// <summary>
/// What fetching one blob took: where it resumed from (bytes a partial already held),
/// <see cref="BytesDownloaded"/> (bytes the link carried this time, restarts included),
/// <see cref="Attempts"/> (requests made) and <see cref="Restarts"/> (times the server could not
/// continue a partial and it was started over).
/// </summary>
internal sealed record DownloadRecord(string Digest, long Size, long ResumedFrom, long BytesDownloaded, int Attempts, int Restarts, bool Verified);
