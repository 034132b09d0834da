namespace DeviceAgent.Progress;

/// <summary>Progress of one blob's download (bytes may go back to 0 when a download starts over).</summary>
internal interface IBlobProgress
{
    void Advanced(long bytesDone);

    void Completed(long size);
}
