using Microsoft.DurableTask;
using Pipeline.Imports;
using Pipeline.Oci;
using Pipeline.Snapshots;

namespace Pipeline.LocalHost.WarmUp;

/// <summary>
/// One copy group of the warm-up: for each placeholder blob, progress tracked and written to the
/// warm-up import's rows, and random bytes sent by a layer's streamed path to a throwaway blob
/// (deleted again). Nothing is fetched from a registry and nothing lands under <c>sha256/</c>.
/// </summary>
public sealed class WarmUpActivity(BlobSnapshotStore store, ImportStore imports) : TaskActivity<SnapshotBlobsInput, SnapshotBlobsResult>
{
    /// <summary>Bytes per throwaway blob: just over the size below which blobs are sent whole.</summary>
    public const int BlobBytes = 1024 * 1024 + 4096;

    /// <summary>A blob entry for the warm-up's progress rows (its digest names no stored blob).</summary>
    public static BlobSource Placeholder(ImportRequest request, int index) =>
        new(request.Sources[0].ImageReference, null, new Descriptor(MediaTypes.OciLayerGzip, Digest.Compute(BitConverter.GetBytes(index)), BlobBytes));

    public override async Task<SnapshotBlobsResult> RunAsync(TaskActivityContext context, SnapshotBlobsInput input)
    {
        await imports.RecordBlobsAsync(input.ImportId, input.Blobs.Select(b => b.Blob), CancellationToken.None).ConfigureAwait(false);
        int stored = 0;
        await using var progress = new ImportProgressReporter(imports, input.ImportId);
        await Parallel.ForEachAsync(input.Blobs, new ParallelOptions { MaxDegreeOfParallelism = SnapshotBlobsActivity.ParallelBlobs }, async (source, ct) =>
        {
            progress.Track(source.Blob.Digest)(BlobBytes / 2);
            await store.WarmUpStreamedWriteAsync(BlobBytes, ct).ConfigureAwait(false);
            progress.Complete(source.Blob.Digest, source.Blob.Size);
            Interlocked.Increment(ref stored);
        }).ConfigureAwait(false);
        await progress.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        return new SnapshotBlobsResult(stored, 0, (long)stored * BlobBytes);
    }
}
