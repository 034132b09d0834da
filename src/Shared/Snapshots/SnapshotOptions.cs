using Microsoft.Extensions.Options;

namespace Pipeline.Snapshots;

/// <summary>
/// How layers are written into the snapshot store (configuration section <c>Pipeline:Snapshots</c>).
/// Memory held for blocks is at most <see cref="MaxBufferedBlocks"/> × <see cref="BlockSizeMiB"/>
/// per process, however many layers are written at once; streamed uploads hold no blocks.
/// </summary>
public sealed class SnapshotOptions
{
    public const string Section = "Pipeline:Snapshots";

    /// <summary>
    /// Bytes per staged block, in MiB, for layers larger than <see cref="StreamedUploadMaxMiB"/>.
    /// Such a blob that fits in one block is read into one and sent in one Put Blob.
    /// Every request costs the service a fixed share of work besides its bytes, so fewer, larger
    /// blocks upload the same layer with less of it; past 8 MiB the gain was within the noise of
    /// the import benchmark, while the buffers a burst of writes holds doubled.
    /// </summary>
    public int BlockSizeMiB { get; set; } = 8;

    /// <summary>
    /// The largest body sent here in one Put Blob: the service takes 5000 MiB, the SDK's transfer
    /// options 4000 MiB per request.
    /// </summary>
    public const int PutBlobMaxMiB = 4000;

    /// <summary>
    /// Blobs up to this size, in MiB, are streamed from the registry into one Put Blob with their
    /// last byte held back until they verify: no block buffers, one request, and the service
    /// computes the blob's Content-MD5 itself. Larger blobs are staged in blocks of
    /// <see cref="BlockSizeMiB"/>, each sent with the Content-MD5 computed here. Every layer up to
    /// a single request's limit by default: on Azurite, measured with the import benchmark (cold,
    /// 400 MiB + 4 × 25 MiB, sets of three, mostly alternating), streaming and staging took the
    /// same time (medians 5.4-5.5 s streamed, 5.2-5.6 s staged) while streaming held a peak
    /// working set of 157-161 MiB instead of 183-187 and spent 2.1-2.4 s of LocalHost CPU
    /// instead of 3.1-3.5 (no MD5 to compute) and 0.3 s less of Azurite's. 0 stages every layer.
    /// </summary>
    public int StreamedUploadMaxMiB { get; set; } = PutBlobMaxMiB;

    /// <summary>Blocks of one blob being uploaded at once, while the next is read from the registry.</summary>
    public int BlocksInFlightPerBlob { get; set; } = 4;

    /// <summary>Block buffers in use at once across every write of this process.</summary>
    public int MaxBufferedBlocks { get; set; } = 4;

    internal int BlockBytes => checked(BlockSizeMiB * 1024 * 1024);
}

/// <summary>
/// Refuses settings the store cannot run with, when the host starts rather than at the first
/// import (which would otherwise fail as <c>INTERNAL</c>).
/// </summary>
internal sealed class SnapshotOptionsValidator : IValidateOptions<SnapshotOptions>
{
    public ValidateOptionsResult Validate(string? name, SnapshotOptions o)
    {
        var failures = new List<string>();
        if (o.BlockSizeMiB is < 1 or > SnapshotOptions.PutBlobMaxMiB)
        {
            failures.Add($"Pipeline:Snapshots:BlockSizeMiB must be 1-{SnapshotOptions.PutBlobMaxMiB}.");
        }
        if (o.StreamedUploadMaxMiB is < 0 or > SnapshotOptions.PutBlobMaxMiB)
        {
            failures.Add($"Pipeline:Snapshots:StreamedUploadMaxMiB must be 0-{SnapshotOptions.PutBlobMaxMiB} (0 stages every layer in blocks).");
        }
        if (o.BlocksInFlightPerBlob < 1)
        {
            failures.Add("Pipeline:Snapshots:BlocksInFlightPerBlob must be at least 1.");
        }
        if (o.MaxBufferedBlocks < 1)
        {
            failures.Add("Pipeline:Snapshots:MaxBufferedBlocks must be at least 1.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
