using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Pipeline.Oci;
using Pipeline.Registry;
using Pipeline.Secrets;
using Pipeline.Snapshots;

namespace Pipeline.Imports;

public sealed record SnapshotBlobsInput(string ImportId, string CustomerId, IReadOnlyList<BlobSource> Blobs);

/// <summary>How many blobs a group stored, found already present, and the bytes it fetched.</summary>
public sealed record SnapshotBlobsResult(int Stored, int Present, long BytesFetched);

/// <summary>
/// Step 2 of an import: copy a group of blobs from the registry into the snapshot store, a few
/// at a time, each streamed straight into staged blocks and committed only once verified.
/// Idempotent: a blob already committed is not fetched again.
/// </summary>
public sealed partial class SnapshotBlobsActivity(
    IRegistryClient registry,
    BlobSnapshotStore store,
    BlobOwnershipStore owners,
    ImportStore imports,
    RegistryCredentialStore credentials,
    ILogger<SnapshotBlobsActivity> logger) : TaskActivity<SnapshotBlobsInput, SnapshotBlobsResult>
{
    /// <summary>Blobs copied at once by one activity; the dispatcher runs several activities too.</summary>
    public const int ParallelBlobs = 2;

    public override async Task<SnapshotBlobsResult> RunAsync(TaskActivityContext context, SnapshotBlobsInput input)
    {
        int stored = 0, present = 0;
        long fetched = 0;
        await using var progress = new ImportProgressReporter(imports, input.ImportId);
        var scopes = new Dictionary<string, PullScope>();
        foreach (var reference in input.Blobs.Select(b => b.CredentialRef).Distinct())
        {
            scopes[reference ?? ""] = new PullScope(input.CustomerId, await credentials.GetAsync(reference, CancellationToken.None).ConfigureAwait(false));
        }
        await Parallel.ForEachAsync(input.Blobs, new ParallelOptions { MaxDegreeOfParallelism = ParallelBlobs }, async (source, ct) =>
        {
            var scope = scopes[source.CredentialRef ?? ""];
            if (await IsAvailableAsync(input.CustomerId, source, scope, ct).ConfigureAwait(false))
            {
                progress.Complete(source.Blob.Digest, source.Blob.Size);
                Interlocked.Increment(ref present);
                return;
            }
            var repository = ImageReference.Parse(source.Repository);
            await using var stream = await registry.OpenBlobAsync(repository, source.Blob, scope, ct).ConfigureAwait(false);
            var outcome = await store.WriteAsync(source.Blob, stream, progress.Track(source.Blob.Digest), ct).ConfigureAwait(false);
            await owners.AddAsync(input.CustomerId, source.Blob.Digest, ct).ConfigureAwait(false);
            progress.Complete(source.Blob.Digest, source.Blob.Size);
            Interlocked.Add(ref fetched, source.Blob.Size);
            Interlocked.Increment(ref outcome == BlobWriteOutcome.Stored ? ref stored : ref present);
        }).ConfigureAwait(false);
        await progress.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        LogGroupDone(logger, input.ImportId, stored, present, fetched);
        return new SnapshotBlobsResult(stored, present, fetched);
    }

    /// <summary>
    /// Whether the blob is committed and this customer may use it without fetching it: it proved
    /// access before, or its registry answers a HEAD for the digest with its own credentials now.
    /// When the registry denies it, the blob is fetched like any other and fails the same way.
    /// </summary>
    private async Task<bool> IsAvailableAsync(string customerId, BlobSource source, PullScope scope, CancellationToken ct)
    {
        var digest = source.Blob.Digest;
        if (!await store.ExistsAsync(digest, ct).ConfigureAwait(false))
        {
            return false;
        }
        if (await owners.HasAsync(customerId, digest, ct).ConfigureAwait(false))
        {
            return true;
        }
        if (!await registry.BlobExistsAsync(ImageReference.Parse(source.Repository), digest, scope, ct).ConfigureAwait(false))
        {
            return false;
        }
        await owners.AddAsync(customerId, digest, ct).ConfigureAwait(false);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Import {ImportId}: {Stored} blobs stored, {Present} already present, {BytesFetched} bytes fetched")]
    private static partial void LogGroupDone(ILogger logger, string importId, int stored, int present, long bytesFetched);
}
