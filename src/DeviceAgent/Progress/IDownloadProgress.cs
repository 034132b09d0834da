namespace DeviceAgent.Progress;

/// <summary>Progress of a version's downloads: one <see cref="IBlobProgress"/> per blob, and a total.</summary>
internal interface IDownloadProgress
{
    IBlobProgress Start(string digest, long size);
}
