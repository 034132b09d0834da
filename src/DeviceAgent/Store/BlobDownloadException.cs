namespace DeviceAgent.Store;

/// <summary>
/// A blob could not be had: its bytes did not match its digest or size (nothing kept), the
/// server refused it, or the link kept failing past the retries (the partial is kept and the next
/// round resumes it). <see cref="Transient"/> tells the two apart for the status report.
/// </summary>
internal sealed class BlobDownloadException(string message, bool transient, Exception? inner = null) : Exception(message, inner)
{
    public bool Transient { get; } = transient;
}
