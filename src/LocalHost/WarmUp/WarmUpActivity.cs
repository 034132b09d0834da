using Microsoft.DurableTask;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Pipeline.Imports;
using Pipeline.Oci;
using Pipeline.Registry;
using Pipeline.Snapshots;

namespace Pipeline.LocalHost.WarmUp;

/// <summary>
/// One copy group of the warm-up, as an import's: progress tracked and written to the warm-up
/// import's rows; an image resolved and its layer read through a registry client, from a
/// <see cref="WarmUpRegistry"/> in memory; the layer sent by a layer's streamed path to a
/// throwaway blob (deleted again). Nothing leaves the process but the storage requests, and
/// nothing lands under <c>sha256/</c>.
/// </summary>
public sealed class WarmUpActivity(BlobSnapshotStore store, ImportStore imports, IOptions<RegistryOptions> registryOptions) : TaskActivity<SnapshotBlobsInput, SnapshotBlobsResult>
{
    /// <summary>Bytes of the warm-up layer: just over the size below which blobs are sent whole.</summary>
    public const int LayerBytes = 1024 * 1024 + 4096;

    /// <summary>A blob entry for the warm-up's progress rows (its digest names no stored blob).</summary>
    public static BlobSource Placeholder(ImportRequest request, int index) =>
        new(request.Sources[0].ImageReference, null, new Descriptor(MediaTypes.OciLayerGzip, Digest.Compute(BitConverter.GetBytes(index)), LayerBytes));

    public override async Task<SnapshotBlobsResult> RunAsync(TaskActivityContext context, SnapshotBlobsInput input)
    {
        await imports.RecordBlobsAsync(input.ImportId, input.Blobs.Select(b => b.Blob), CancellationToken.None).ConfigureAwait(false);
        using var source = new WarmUpRegistry(LayerBytes);
        var registry = new RegistryClient(source, registryOptions, TimeProvider.System, NullLogger<RegistryClient>.Instance);
        var scope = new PullScope(input.CustomerId, null);
        int stored = 0;
        await using var progress = new ImportProgressReporter(imports, input.ImportId);
        await Parallel.ForEachAsync(input.Blobs, new ParallelOptions { MaxDegreeOfParallelism = SnapshotBlobsActivity.ParallelBlobs }, async (blob, ct) =>
        {
            var image = await registry.ResolveAsync(WarmUpRegistry.Reference, "amd64", scope, ct).ConfigureAwait(false);
            var layer = image.Layers[0];
            await using (var stream = await registry.OpenBlobAsync(WarmUpRegistry.Reference, layer, scope, ct).ConfigureAwait(false))
            {
                await store.WarmUpStreamedWriteAsync(stream, layer, progress.Track(blob.Blob.Digest), ct).ConfigureAwait(false);
            }
            progress.Complete(blob.Blob.Digest, blob.Blob.Size);
            Interlocked.Increment(ref stored);
        }).ConfigureAwait(false);
        await progress.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        return new SnapshotBlobsResult(stored, 0, (long)stored * LayerBytes);
    }
}
