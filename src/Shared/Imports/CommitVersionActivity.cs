using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Pipeline.Fleet;
using Pipeline.Fleet.Rollout;
using Pipeline.Oci;
using Pipeline.Snapshots;

namespace Pipeline.Imports;

public sealed record CommitVersionInput(
    string ImportId,
    string CustomerId,
    string NodeServiceId,
    string Name,
    IReadOnlyList<ResolvedArch> Architectures,
    ServiceSettings Settings,
    NodeServiceNetwork? Network,
    long BytesFetched,
    RolloutPolicy? Policy = null);

/// <summary>
/// Step 3 of an import (see <see cref="VersionCommitter"/>); when nothing needs copying the begin
/// step commits by itself and this step is not scheduled.
/// </summary>
public sealed class CommitVersionActivity(VersionCommitter committer) : TaskActivity<CommitVersionInput, int>
{
    public override Task<int> RunAsync(TaskActivityContext context, CommitVersionInput input) =>
        committer.CommitAsync(input, CancellationToken.None);
}

/// <summary>
/// Commits an import's snapshot as the node service's next immutable version, or returns the
/// latest version when images and settings are unchanged. Networking is fixed by the first
/// import; a later import that asks for other networking keeps the first and says so in a
/// warning. Safe to run twice and against a concurrent import: the version row is added once (the
/// table refuses a second add) and the service row is updated under its ETag.
/// </summary>
public sealed partial class VersionCommitter(
    NodeServiceStore services,
    SnapshotRecordStore versions,
    BlobSnapshotStore blobs,
    ImportStore imports,
    ILogger<VersionCommitter> logger)
{
    public const string NetworkIgnoredWarning = "network_config ignored: it is immutable after the first import";

    public async Task<int> CommitAsync(CommitVersionInput input, CancellationToken ct)
    {
        var existing = await imports.GetAsync(input.ImportId, ct).ConfigureAwait(false);
        if (existing?.ContainerVersion is int done)
        {
            return done;
        }

        var archs = input.Architectures
            .OrderBy(a => a.Arch, StringComparer.Ordinal)
            .Select(a => new ArchSnapshot(a.Arch, a.ImageReference, a.Manifest, a.Config, a.Layers))
            .ToList();
        var warnings = input.Architectures.SelectMany(a => a.Warnings ?? []).ToList();
        string fingerprint = SnapshotRecordStore.Fingerprint(archs, input.Settings);
        var envFile = await StoreEnvFileAsync(input.Settings, ct).ConfigureAwait(false);

        for (int attempt = 0; attempt < 20; attempt++)
        {
            var (service, etag) = await services.GetAsync(input.CustomerId, input.NodeServiceId, ct).ConfigureAwait(false);
            int latest = service?.ContainerVersion ?? 0;
            var network = service is { ContainerVersion: > 0 } ? service.Network : input.Network ?? NodeServiceNetwork.None;
            if (service is { ContainerVersion: > 0 } && input.Network is { } asked && asked != service.Network)
            {
                warnings.Add(NetworkIgnoredWarning);
            }
            if (latest > 0 && await versions.GetAsync(input.NodeServiceId, latest, ct).ConfigureAwait(false) is { } current
                && SnapshotRecordStore.Fingerprint(current) == fingerprint)
            {
                if (input.Policy is { } policy && policy != service!.Policy)
                {
                    // Nothing new to roll out, but the policy given is kept for the next version.
                    await services.UpdateAsync(input.CustomerId, input.NodeServiceId, s => s with { Policy = policy }, ct).ConfigureAwait(false);
                }
                await imports.CompleteAsync(input.ImportId, latest, warnings.Distinct().ToList(), input.BytesFetched, ct).ConfigureAwait(false);
                LogUnchanged(logger, input.ImportId, latest);
                return latest;
            }

            int next = latest + 1;
            var record = new SnapshotRecord(next, input.NodeServiceId, input.ImportId, DateTimeOffset.UtcNow, archs, input.Settings, network, envFile);
            if (!await versions.TryAddAsync(record, ct).ConfigureAwait(false))
            {
                var taken = await versions.GetAsync(input.NodeServiceId, next, ct).ConfigureAwait(false);
                if (taken?.ImportId != input.ImportId)
                {
                    // Another import took this number and has not moved the pointer yet: bump past it.
                    await AdvanceAsync(input, service, etag, next, archs, taken?.Network ?? network, null, ct).ConfigureAwait(false);
                    continue;
                }
            }
            if (!await AdvanceAsync(input, service, etag, next, archs, network, input.Policy, ct).ConfigureAwait(false))
            {
                continue;
            }
            await imports.CompleteAsync(input.ImportId, next, warnings.Distinct().ToList(), input.BytesFetched, ct).ConfigureAwait(false);
            LogCommitted(logger, input.ImportId, input.NodeServiceId, next);
            return next;
        }
        throw new PipelineException(ErrorCodes.Conflict, "Too many concurrent imports of this node service; try again.");
    }

    /// <summary>The version's <c>lxc.env</c>, stored content-addressed like the layers.</summary>
    private async Task<Descriptor> StoreEnvFileAsync(ServiceSettings settings, CancellationToken ct)
    {
        byte[] bytes = LxcEnv.Render(settings.Env);
        var descriptor = new Descriptor(LxcEnv.MediaType, Digest.Compute(bytes), bytes.Length);
        if (!await blobs.ExistsAsync(descriptor.Digest, ct).ConfigureAwait(false))
        {
            await blobs.WriteAsync(descriptor, new MemoryStream(bytes, writable: false), null, ct).ConfigureAwait(false);
        }
        return descriptor;
    }

    /// <summary>
    /// Makes <paramref name="version"/> the node service's newest and its rolling version. Until
    /// its rollout starts a wave, latest-followers keep the base version; with a one-wave policy
    /// everyone is admitted at once (the rollout still monitors them).
    /// </summary>
    private Task<bool> AdvanceAsync(CommitVersionInput input, NodeService? service, Azure.ETag etag, int version, IReadOnlyList<ArchSnapshot> archs, NodeServiceNetwork network, RolloutPolicy? policy, CancellationToken ct)
    {
        if (service?.ContainerVersion >= version)
        {
            return Task.FromResult(true);
        }
        policy ??= service?.Policy ?? RolloutPolicy.Default;
        var pointer = (service?.RolloutOrSettled ?? RolloutPointer.Settled(null)).Committed(version, policy);
        var updated = new NodeService(
            input.CustomerId,
            input.NodeServiceId,
            input.Name,
            version,
            archs.FirstOrDefault(a => a.Arch == Architectures.Amd64)?.ImageReference ?? archs[0].ImageReference,
            archs.Select(a => a.Arch).ToList())
        {
            Network = network,
            Policy = policy,
            Rollout = pointer,
        };
        return services.TrySaveAsync(updated, etag, ct);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Import {ImportId}: committed {NodeServiceId} version {Version}")]
    private static partial void LogCommitted(ILogger logger, string importId, string nodeServiceId, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Import {ImportId}: images and settings unchanged, version {Version} kept")]
    private static partial void LogUnchanged(ILogger logger, string importId, int version);
}
