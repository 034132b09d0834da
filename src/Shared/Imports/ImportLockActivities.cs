using Microsoft.DurableTask;

namespace Pipeline.Imports;

/// <summary>The lock of a node service and, when <see cref="CustomerId"/> is given, one of its customer's import slots.</summary>
public sealed record ImportLockInput(string NodeServiceId, string ImportId, string? CustomerId = null);

/// <summary>Tries to take the node service's import lock and a customer slot (see <see cref="ImportLockStore"/>).</summary>
public sealed class AcquireImportLockActivity(ImportLockStore locks) : TaskActivity<ImportLockInput, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, ImportLockInput input) =>
        locks.TryAcquireAsync(input.NodeServiceId, input.CustomerId, input.ImportId, CancellationToken.None);
}

/// <summary>Releases the node service's import lock and the customer slot held by this import.</summary>
public sealed class ReleaseImportLockActivity(ImportLockStore locks) : TaskActivity<ImportLockInput, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, ImportLockInput input)
    {
        await locks.ReleaseAsync(input.NodeServiceId, input.CustomerId, input.ImportId, CancellationToken.None).ConfigureAwait(false);
        return true;
    }
}

/// <param name="Lock">The lock and customer slot to take.</param>
/// <param name="Sources">The architectures to resolve.</param>
/// <param name="CommitIfNothingToCopy">
/// The commit of this import, its architectures left empty: when every architecture turns out to
/// be in the node service's latest version already, the begin step commits with the resolved
/// ones at once (a re-import of an unchanged image then ends one round trip sooner). Null in
/// histories of earlier builds.
/// </param>
public sealed record BeginImportInput(ImportLockInput Lock, IReadOnlyList<ResolveImageInput> Sources, CommitVersionInput? CommitIfNothingToCopy = null);

/// <summary>
/// What <see cref="BeginImportActivity"/> did: nothing (the lock is held elsewhere), or took the
/// lock and resolved every architecture, and when nothing needed copying committed
/// <see cref="Version"/>.
/// </summary>
public sealed record BeginImportResult(bool Locked, IReadOnlyList<ResolvedArch> Resolved, int? Version = null);

/// <summary>
/// The first step of an import, one activity rather than two so that an import pays one round
/// trip through the durable queues before its first byte: takes the node service's lock and a
/// customer slot, and once they are held resolves every architecture at once
/// (<see cref="ImageResolver"/>). When every architecture is already in the latest version there
/// is nothing to copy, and it commits too (<see cref="VersionCommitter"/>). While another import
/// holds the lock it touches nothing else and says so; the import stays <c>pending</c> and asks
/// again. Retried as a whole: taking a lock this import already holds succeeds, resolving again
/// writes the same rows, and committing again returns the version committed. When resolving or
/// committing fails the lock may be held: the orchestration releases it.
/// </summary>
public sealed class BeginImportActivity(ImportLockStore locks, ImageResolver resolver, VersionCommitter committer) : TaskActivity<BeginImportInput, BeginImportResult>
{
    public override async Task<BeginImportResult> RunAsync(TaskActivityContext context, BeginImportInput input)
    {
        var ct = CancellationToken.None;
        if (!await locks.TryAcquireAsync(input.Lock.NodeServiceId, input.Lock.CustomerId, input.Lock.ImportId, ct).ConfigureAwait(false))
        {
            return new BeginImportResult(false, []);
        }
        var resolved = await Task.WhenAll(input.Sources.Select(source => resolver.ResolveAsync(source, ct))).ConfigureAwait(false);
        if (input.CommitIfNothingToCopy is { } commit && resolved.All(r => r.Stored))
        {
            int version = await committer.CommitAsync(commit with { Architectures = resolved, BytesFetched = 0 }, ct).ConfigureAwait(false);
            return new BeginImportResult(true, resolved, version);
        }
        return new BeginImportResult(true, resolved);
    }
}
