using DeviceAgent.Store;

namespace DeviceAgent.Rounds;

/// <summary>
/// What a round learnt while it went: the blobs its instances' versions need (kept by the garbage
/// collection even before a version is installed, so a half-finished version's blobs and partials
/// survive to the next round), the downloads, and whether any instance's needs stayed unknown (then
/// nothing is collected: the store cannot tell garbage from a version it could not plan).
/// </summary>
internal sealed class RoundLedger
{
    private readonly HashSet<BlobDigest> _needed = [];
    private readonly List<DownloadRecord> _downloads = [];

    public IReadOnlySet<BlobDigest> Needed => _needed;

    public IReadOnlyList<DownloadRecord> Downloads => _downloads;

    public bool NeedsUnknown { get; private set; }

    public void Need(IEnumerable<string> digests)
    {
        foreach (string digest in digests)
        {
            if (BlobDigest.TryParse(digest, out var d))
            {
                _needed.Add(d.Value);
            }
        }
    }

    public void Downloaded(DownloadRecord record) => _downloads.Add(record);

    public void Unknown() => NeedsUnknown = true;
}
