using DeviceAgent.Store;

namespace DeviceAgent.Progress;

/// <summary>
/// Progress as log lines, for output that is not a terminal:
/// <c>download sha256:abcd… 12.3/40.0 MiB (total 20.1/60.0 MiB)</c> at most every quarter of a
/// blob, and once when it completes.
/// </summary>
internal sealed class LineProgress(AgentLog log, long totalBytes) : IDownloadProgress
{
    private readonly Lock _gate = new();
    private long _totalDone;

    private AgentLog Log => log;

    public IBlobProgress Start(string digest, long size) => new Blob(this, digest, size);

    private void Moved(long delta)
    {
        lock (_gate)
        {
            _totalDone += delta;
        }
    }

    private string Line(string digest, long done, long size, string? suffix)
    {
        long total;
        lock (_gate)
        {
            total = _totalDone;
        }
        string name = BlobDigest.TryParse(digest, out var d) ? d.Value.Short : digest;
        return $"download {name} {Of(done, size)} (total {Of(total, totalBytes)}){suffix}";
    }

    /// <summary><c>12.3/40.0 MiB</c>, in KiB for blobs under a MiB (a config would show 0.0/0.0 MiB).</summary>
    private static string Of(long done, long size)
    {
        var (unit, name) = size >= 1024 * 1024 ? (1024.0 * 1024.0, "MiB") : (1024.0, "KiB");
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        return $"{(done / unit).ToString("0.0", culture)}/{(size / unit).ToString("0.0", culture)} {name}";
    }

    private sealed class Blob(LineProgress owner, string digest, long size) : IBlobProgress
    {
        private long _done;
        private int _quarter = -1;

        public void Advanced(long bytesDone)
        {
            owner.Moved(bytesDone - _done);
            _done = bytesDone;
            int quarter = size == 0 ? 4 : (int)(bytesDone * 4 / size);
            if (_quarter < 0)
            {
                // The first report says where the download starts (a resume starts past 0).
                _quarter = quarter;
                owner.Log.Info(owner.Line(digest, bytesDone, size, bytesDone > 0 ? " resuming" : null));
            }
            else if (quarter > _quarter && quarter < 4)
            {
                _quarter = quarter;
                owner.Log.Info(owner.Line(digest, bytesDone, size, null));
            }
            else if (quarter < _quarter)
            {
                _quarter = quarter;
            }
        }

        public void Completed(long size1)
        {
            owner.Moved(size1 - _done);
            _done = size1;
            owner.Log.Info(owner.Line(digest, size1, size1, " verified"));
        }
    }
}
