using Pipeline.Oci;

namespace Pipeline.Snapshots;

/// <summary>
/// What a device holding <c>have</c> must download to run one architecture of a version
/// (API.md "Devices", the plan): the config and the layers it lacks, each once, in the order the
/// manifest gives them; and the sizes a progress bar needs.
/// </summary>
/// <param name="Blobs">Blobs to download: config first, then layers, none twice, none the device has.</param>
/// <param name="BytesTotal">Bytes of every distinct blob of the version and arch (config and layers).</param>
/// <param name="BytesToDownload">Bytes of <paramref name="Blobs"/>.</param>
public sealed record DeltaPlan(IReadOnlyList<Descriptor> Blobs, long BytesTotal, long BytesToDownload)
{
    /// <summary>The plan for <paramref name="arch"/> and a device that already holds <paramref name="have"/>.</summary>
    public static DeltaPlan For(ArchSnapshot arch, IReadOnlySet<Digest> have)
    {
        var seen = new HashSet<Digest>();
        var missing = new List<Descriptor>();
        long total = 0, toDownload = 0;
        foreach (var blob in arch.Layers.Prepend(arch.Config))
        {
            // A manifest may list one layer twice (empty layers often are): download and count it once.
            if (!seen.Add(blob.Digest))
            {
                continue;
            }
            total += blob.Size;
            if (!have.Contains(blob.Digest))
            {
                missing.Add(blob);
                toDownload += blob.Size;
            }
        }
        return new DeltaPlan(missing, total, toDownload);
    }
}
