using DeviceAgent.Api;
using DeviceAgent.Progress;
using DeviceAgent.Store;

namespace DeviceAgent.Rounds;

/// <summary>
/// Brings one instance to its target version: plan (naming the blobs the store holds), a
/// free-space check, downloads, the env file, the version's folder, the switch of <c>current</c>,
/// the health check and the reports. A version already installed (the previous one, after a
/// rollback) is switched to without the network. Any failure leaves <c>current</c> as it was.
/// With chunk deltas on (<paramref name="chunked"/> and <paramref name="indexer"/> given), the plan
/// accepts <c>chunks</c>; a layer that carries them is rebuilt from the seeds and the missing
/// chunks, and falls back to the whole layer when the delta cannot be trusted; a layer that comes
/// whole is indexed so it seeds the next version.
/// </summary>
internal sealed class InstanceUpdater(
    DeviceApiClient api,
    ContentStore store,
    InstanceStore instances,
    BlobDownloader downloader,
    SmallBlobFetcher smallBlobs,
    HealthCheck health,
    AgentLog log,
    long minFreeBytes,
    ChunkedLayerDownloader? chunked = null,
    LayerIndexer? indexer = null)
{
    /// <summary>The plan extensions this agent understands.</summary>
    private static readonly IReadOnlyList<string> AcceptChunks = ["chunks"];

    /// <summary>Plans asked for in one round when download URLs keep expiring.</summary>
    private const int MaxPlans = 3;

    /// <summary>Room for the version folder's small JSON files.</summary>
    private const long FolderOverheadBytes = 64 * 1024;

    public async Task<InstanceOutcome> UpdateAsync(TargetInstance target, StatusReporter reporter, RoundLedger ledger, CancellationToken cancellationToken)
    {
        string id = target.NodeServiceInstanceId;
        if (!InstanceStore.IsSafeId(id))
        {
            return new InstanceOutcome(id, target.ContainerVersion, null, StatusReport.Failed, false, "the instance id cannot be a folder name", false);
        }
        if (target.ContainerVersion is not int want)
        {
            // Disabled: not orchestrated. Whatever is installed stays as it is; nothing is downloaded or reported.
            ledger.Need(KeptDigestsOf(id));
            return new InstanceOutcome(id, null, instances.CurrentVersion(id), InstanceOutcome.Disabled, true, null, true);
        }
        int? version = null;
        try
        {
            if (instances.IsComplete(id, want))
            {
                ledger.Need(instances.ReadManifest(id, want)!.BlobDigests);
                if (instances.CurrentVersion(id) != want)
                {
                    log.Info($"{id}: version {want} is already in the store; switching to it");
                    instances.Activate(id, want);
                }
                return await RunningAsync(id, want, reporter, cancellationToken).ConfigureAwait(false);
            }
            for (int planNumber = 1; ; planNumber++)
            {
                var plan = await api.GetPlanAsync(target.PlanUrl, store.List().Select(d => d.ToString()).ToList(), chunked is null ? null : AcceptChunks, cancellationToken).ConfigureAwait(false);
                if (plan.ContainerVersion is not int planned)
                {
                    return new InstanceOutcome(id, null, instances.CurrentVersion(id), InstanceOutcome.Disabled, true, null, true);
                }
                version = planned;
                var manifest = ManifestOf(plan);
                ledger.Need(manifest.BlobDigests);
                await reporter.ReportAsync(id, planned, StatusReport.Downloading, false,
                    $"downloading {DiskSpace.Format(plan.BytesToDownload)} of {DiskSpace.Format(plan.BytesTotal)}", cancellationToken).ConfigureAwait(false);
                CheckFreeSpace(plan);
                byte[] env;
                try
                {
                    await DownloadBlobsAsync(id, planned, plan.Blobs ?? [], ledger, cancellationToken).ConfigureAwait(false);
                    env = await smallBlobs.FetchAsync(plan.EnvUrl!, plan.Env!, cancellationToken).ConfigureAwait(false);
                }
                catch (UrlExpiredException e) when (planNumber < MaxPlans)
                {
                    log.Info($"{id}: {e.Message}");
                    continue;
                }
                var missing = manifest.BlobDigests.Where(d => !store.Has(BlobDigest.Parse(d))).ToList();
                if (missing.Count > 0)
                {
                    // The plan left out a blob the device did not have: it was removed meanwhile (say, found damaged).
                    throw new BlobDownloadException($"the plan did not list {string.Join(", ", missing)}, which the store lacks; planning again next round.", transient: true);
                }
                instances.Install(id, new VersionFiles(manifest, env, plan.Network, plan.ConfigMap));
                instances.Activate(id, planned);
                log.Info($"{id}: version {planned} is current (previous: {instances.PreviousVersion(id)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})");
                return await RunningAsync(id, planned, reporter, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && Classify(e) is (bool reported, string message))
        {
            int? current = instances.CurrentVersion(id);
            if (!reported)
            {
                ledger.Unknown();
                log.Warn($"{id}: {message}; current stays {current?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "empty"}, trying again next round");
                return new InstanceOutcome(id, version ?? want, current, InstanceOutcome.Pending, false, message, false);
            }
            log.Error($"{id}: {message}; current stays {current?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "empty"}");
            await reporter.ReportAsync(id, version ?? want, StatusReport.Failed, false, message, cancellationToken).ConfigureAwait(false);
            return new InstanceOutcome(id, version ?? want, current, StatusReport.Failed, false, message, false);
        }
    }

    private async Task DownloadBlobsAsync(string id, int version, IReadOnlyList<PlanBlob> blobs, RoundLedger ledger, CancellationToken cancellationToken)
    {
        if (blobs.Count == 0)
        {
            return;
        }
        if (blobs.Any(UsesChunks))
        {
            await SeedFromInstalledAsync(id, cancellationToken).ConfigureAwait(false);
        }
        long total = blobs.Sum(b => UsesChunks(b) ? b.Chunks!.BytesToDownload : b.Size);
        int deltas = blobs.Count(UsesChunks);
        log.Info($"{id}: version {version}: {blobs.Count} blob(s), {DiskSpace.Format(total)} to download{(deltas > 0 ? $" ({deltas} layer(s) as chunk deltas)" : "")}");
        await ProgressDisplay.RunAsync(log, total, async progress =>
        {
            foreach (var blob in blobs)
            {
                ledger.Downloaded(await DownloadBlobAsync(id, blob, progress, cancellationToken).ConfigureAwait(false));
            }
            return true;
        }).ConfigureAwait(false);
    }

    private bool UsesChunks(PlanBlob blob) => chunked is not null && blob.Chunks is not null;

    /// <summary>
    /// One blob: a layer with chunks as a delta (the whole layer when the delta cannot be trusted,
    /// TEST-MATRIX row 35), anything else whole; a layer that came whole is then indexed as seeds.
    /// </summary>
    private async Task<DownloadRecord> DownloadBlobAsync(string id, PlanBlob blob, IDownloadProgress progress, CancellationToken cancellationToken)
    {
        long deltaBytes = 0;
        if (UsesChunks(blob))
        {
            try
            {
                return await chunked!.DownloadAsync(blob, progress.Start(blob.Digest, blob.Chunks!.BytesToDownload), cancellationToken).ConfigureAwait(false);
            }
            catch (ChunkFallbackException e)
            {
                deltaBytes = e.BytesReceived;
                log.Warn($"{id}: {BlobDigest.Parse(blob.Digest).Short}: the chunk delta was discarded ({e.Message}); downloading the whole layer");
            }
        }
        var record = await downloader.DownloadAsync(blob, progress.Start(blob.Digest, blob.Size), cancellationToken).ConfigureAwait(false);
        if (indexer is not null)
        {
            await indexer.EnsureIndexedAsync(BlobDigest.Parse(blob.Digest), blob.MediaType, cancellationToken).ConfigureAwait(false);
        }
        return UsesChunks(blob) ? record with { BytesDownloaded = record.BytesDownloaded + deltaBytes, Via = DownloadRecord.WholeAfterChunks } : record;
    }

    /// <summary>
    /// Layers of the installed versions that are held whole but not yet indexed (kept from before
    /// chunk deltas were on): indexed now, so the delta about to be computed can use them.
    /// </summary>
    private async Task SeedFromInstalledAsync(string id, CancellationToken cancellationToken)
    {
        var layers = new[] { instances.CurrentVersion(id), instances.PreviousVersion(id) }.OfType<int>()
            .SelectMany(v => instances.ReadManifest(id, v)?.Layers ?? []);
        foreach (var layer in layers.DistinctBy(l => l.Digest))
        {
            if (BlobDigest.TryParse(layer.Digest, out var digest))
            {
                await indexer!.EnsureIndexedAsync(digest.Value, layer.MediaType, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<InstanceOutcome> RunningAsync(string id, int version, StatusReporter reporter, CancellationToken cancellationToken)
    {
        var (healthy, message) = await health.RunAsync(id, version, instances.VersionDirectory(id, version), cancellationToken).ConfigureAwait(false);
        await reporter.ReportAsync(id, version, StatusReport.Running, healthy, message, cancellationToken).ConfigureAwait(false);
        return new InstanceOutcome(id, version, version, StatusReport.Running, healthy, healthy ? message : "unhealthy: " + message, healthy);
    }

    /// <summary>
    /// Bytes still to come (partials already on disk count as had), the env and the folder's
    /// copy of the config, plus <c>--min-free-bytes</c>, against what the filesystem has free.
    /// </summary>
    private void CheckFreeSpace(PlanResponse plan)
    {
        long need = minFreeBytes + FolderOverheadBytes + (plan.Env?.Size ?? 0) + (plan.Config?.Size ?? 0);
        foreach (var blob in plan.Blobs ?? [])
        {
            // A delta stores the rebuilt tar uncompressed, plus the chunks it fetches.
            need += UsesChunks(blob)
                ? Math.Max(0, blob.Chunks!.TarSize) + Math.Max(0, blob.Chunks.BytesToDownload)
                : blob.Size - Math.Min(blob.Size, store.PartialLength(BlobDigest.Parse(blob.Digest)));
        }
        long free = DiskSpace.FreeBytes(store.Root);
        if (free < need)
        {
            string margin = minFreeBytes > 0 ? $" (including --min-free-bytes {DiskSpace.Format(minFreeBytes)})" : "";
            throw new DiskFullException($"not enough disk space: need {DiskSpace.Format(need)}, have {DiskSpace.Format(free)} on {store.Root}{margin}");
        }
    }

    private IEnumerable<string> KeptDigestsOf(string id) =>
        new[] { instances.CurrentVersion(id), instances.PreviousVersion(id) }.OfType<int>()
            .SelectMany(v => instances.ReadManifest(id, v)?.BlobDigests ?? []);

    private static VersionManifest ManifestOf(PlanResponse plan)
    {
        if (plan.Arch is null || plan.ManifestDigest is null || plan.Config is null || plan.Layers is null || plan.Env is null || plan.EnvUrl is null)
        {
            throw new InvalidPlanException("the plan lacks arch, manifest_digest, config, layers, env or env_url");
        }
        foreach (string digest in plan.Layers.Select(l => l.Digest).Append(plan.Config.Digest).Append(plan.Env.Digest).Concat((plan.Blobs ?? []).Select(b => b.Digest)))
        {
            if (!BlobDigest.TryParse(digest, out _))
            {
                throw new InvalidPlanException($"the plan names '{digest}', which is not a sha256 digest");
            }
        }
        return new VersionManifest(plan.ContainerVersion!.Value, plan.Arch, plan.ManifestDigest, plan.Config, plan.Layers, plan.Env, DateTimeOffset.UtcNow);
    }

    /// <summary>Reported failures (true) and the ones that only need another round (false), with their messages.</summary>
    private static (bool Reported, string Message)? Classify(Exception e) => e switch
    {
        DiskFullException => (true, e.Message),
        IOException io when DiskSpace.IsDiskFull(io) => (true, $"not enough disk space: {io.Message}"),
        BlobDownloadException b => (!b.Transient, b.Message),
        DeviceApiException api => (!api.IsTransient, $"the plan was refused: {api.Message}"),
        InvalidPlanException => (true, e.Message),
        UrlExpiredException => (false, e.Message),
        HttpRequestException or TimeoutException or OperationCanceledException => (false, $"the link failed: {e.Message}"),
        IOException or UnauthorizedAccessException => (true, $"the store failed: {e.Message}"),
        _ => null,
    };

    private sealed class InvalidPlanException(string message) : Exception(message);
}
