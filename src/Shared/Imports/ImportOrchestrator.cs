using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Pipeline.Deltas;
using Pipeline.Rollouts;
using Pipeline.Oci;

namespace Pipeline.Imports;

/// <summary>
/// The import: take the node service's lock and resolve every architecture (one step), snapshot
/// the blobs in a few balanced groups, commit the version (in the first step already when every
/// architecture is in the latest version: nothing to copy). Any failure fails the whole import with its error code,
/// and no version is committed. Deterministic: all I/O happens in activities.
/// </summary>
public sealed class ImportOrchestrator : TaskOrchestrator<ImportRequest, ImportOutcome>
{
    /// <summary>
    /// Blob groups per import. The in-process dispatcher runs ten work items at a time and each
    /// group copies <see cref="SnapshotBlobsActivity.ParallelBlobs"/> blobs at once.
    /// </summary>
    public const int MaxGroups = 4;

    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 3,
        firstRetryInterval: TimeSpan.FromSeconds(2),
        backoffCoefficient: 2)
    {
        // Only transient failures are worth another attempt; a bad digest or a missing image stays so.
        HandleFailure = failure => IsTransient(failure),
    });

    /// <summary>How often a waiting import looks at the node service's import lock again.</summary>
    public static readonly TimeSpan LockPollInterval = TimeSpan.FromSeconds(3);

    /// <summary>How long an import waits for another import of the same node service.</summary>
    public static readonly TimeSpan LockWaitLimit = TimeSpan.FromHours(2);

    public override async Task<ImportOutcome> RunAsync(TaskOrchestrationContext context, ImportRequest input)
    {
        var log = context.CreateReplaySafeLogger<ImportOrchestrator>();
        var lockInput = new ImportLockInput(input.NodeServiceId, input.ImportId, input.CustomerId);
        // Whether this import may hold the lock: from the moment it asks until it releases. A
        // begin that failed after taking the lock (the image did not resolve) still holds it.
        bool locked = false;
        try
        {
            // Lock and resolve in one step; each resolve also records its blobs for progress,
            // and tells whether the latest version already holds its manifest: then there is
            // nothing to copy.
            var commit = new CommitVersionInput(input.ImportId, input.CustomerId, input.NodeServiceId, input.Name, [], input.Settings, input.Network, 0, input.Policy);
            var begin = new BeginImportInput(lockInput, input.Sources.Select(source => new ResolveImageInput(input.ImportId, input.CustomerId, source, input.NodeServiceId)).ToList(), commit);
            var giveUp = context.CurrentUtcDateTime + LockWaitLimit;
            BeginImportResult begun;
            while (true)
            {
                locked = true;
                begun = await context.CallActivityAsync<BeginImportResult>(nameof(BeginImportActivity), begin, Retry);
                if (begun.Locked)
                {
                    break;
                }
                locked = false;
                if (context.CurrentUtcDateTime > giveUp)
                {
                    return await FailAsync(context, input, ErrorCodes.Conflict, "Other imports of this node service or customer have been running for too long; try again later.");
                }
                await context.CreateTimer(context.CurrentUtcDateTime + LockPollInterval, CancellationToken.None);
            }
            // Nothing to copy: the begin step committed already (Version is null in histories of
            // builds whose begin step did not).
            if (begun.Version is not int version)
            {
                var resolved = begun.Resolved;
                var blobs = DistinctBlobs(input, resolved.Where(r => !r.Stored).ToList());
                var copied = await Task.WhenAll(Group(blobs, MaxGroups).Select(group =>
                    context.CallActivityAsync<SnapshotBlobsResult>(nameof(SnapshotBlobsActivity), new SnapshotBlobsInput(input.ImportId, input.CustomerId, group), Retry)));

                version = await context.CallActivityAsync<int>(nameof(CommitVersionActivity),
                    commit with { Architectures = resolved, BytesFetched = copied.Sum(c => c.BytesFetched) }, Retry);
            }

            // The version is committed: the next import of this service may start, and the version
            // rolls out under an orchestration of its own (this one does not wait on a fleet). A
            // rollout that fails to start does not fail the import; the next version supersedes it.
            locked = false;
            await context.CallActivityAsync<bool>(nameof(ReleaseImportLockActivity), lockInput, Retry);
            try
            {
                await context.CallActivityAsync<bool>(nameof(StartRolloutActivity), new RolloutInput(input.NodeServiceId, input.CustomerId, version), Retry);
            }
            catch (TaskFailedException e)
            {
                log.LogWarning("Import {ImportId}: the rollout of version {Version} did not start: {Reason}", input.ImportId, version, e.Message);
            }
            // Chunk indexes for deltas, after the commit (a version is usable without them: until a
            // layer is indexed, plans offer it whole).
            try
            {
                await context.CallActivityAsync<int>(nameof(IndexVersionActivity), new IndexVersionInput(input.NodeServiceId, version));
            }
            catch (TaskFailedException e)
            {
                log.LogWarning("Import {ImportId}: version {Version} was not indexed for chunk deltas: {Reason}", input.ImportId, version, e.Message);
            }
            return new ImportOutcome(version, null, null);
        }
        catch (TaskFailedException e)
        {
            var (code, message) = PipelineException.TryParseCode(e.FailureDetails.ErrorMessage);
            log.LogWarning("Import {ImportId} failed: {Code}", input.ImportId, code);
            return await FailAsync(context, input, code, message);
        }
        finally
        {
            if (locked)
            {
                await context.CallActivityAsync<bool>(nameof(ReleaseImportLockActivity), lockInput, Retry);
            }
        }
    }

    private static async Task<ImportOutcome> FailAsync(TaskOrchestrationContext context, ImportRequest input, string code, string message)
    {
        await context.CallActivityAsync<bool>(nameof(RecordImportFailedActivity), new RecordImportFailedInput(input.ImportId, code, message), Retry);
        return new ImportOutcome(null, code, message);
    }

    /// <summary>Config and layers of every architecture, each digest once.</summary>
    internal static List<BlobSource> DistinctBlobs(ImportRequest input, IReadOnlyList<ResolvedArch> resolved)
    {
        var seen = new HashSet<Digest>();
        var result = new List<BlobSource>();
        foreach (var arch in resolved)
        {
            var source = input.Sources.First(s => s.Arch == arch.Arch);
            foreach (var blob in arch.Layers.Prepend(arch.Config))
            {
                if (seen.Add(blob.Digest))
                {
                    result.Add(new BlobSource(arch.ImageReference, source.CredentialRef, blob));
                }
            }
        }
        return result;
    }

    /// <summary>Splits blobs into at most <paramref name="groups"/> groups of similar byte counts (largest first).</summary>
    internal static List<List<BlobSource>> Group(IReadOnlyList<BlobSource> blobs, int groups)
    {
        var buckets = Enumerable.Range(0, Math.Max(1, Math.Min(groups, blobs.Count))).Select(_ => (Bytes: 0L, Items: new List<BlobSource>())).ToList();
        foreach (var blob in blobs.OrderByDescending(b => b.Blob.Size).ThenBy(b => b.Blob.Digest.Hex, StringComparer.Ordinal))
        {
            int lightest = 0;
            for (int i = 1; i < buckets.Count; i++)
            {
                if (buckets[i].Bytes < buckets[lightest].Bytes)
                {
                    lightest = i;
                }
            }
            buckets[lightest].Items.Add(blob);
            buckets[lightest] = (buckets[lightest].Bytes + blob.Blob.Size, buckets[lightest].Items);
        }
        return buckets.Where(b => b.Items.Count > 0).Select(b => b.Items).ToList();
    }

    internal static bool IsTransient(TaskFailureDetails failure)
    {
        var (code, _) = PipelineException.TryParseCode(failure.ErrorMessage);
        return code is ErrorCodes.RegistryUnreachable or ErrorCodes.Internal;
    }
}
