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

public sealed record BeginImportInput(ImportLockInput Lock, IReadOnlyList<ResolveImageInput> Sources);

/// <summary>What <see cref="BeginImportActivity"/> did: nothing (the lock is held elsewhere), or took the lock and resolved every architecture.</summary>
public sealed record BeginImportResult(bool Locked, IReadOnlyList<ResolvedArch> Resolved);

/// <summary>
/// The first step of an import, one activity rather than two so that an import pays one round
/// trip through the durable queues before its first byte: takes the node service's lock and a
/// customer slot, and once they are held resolves every architecture at once
/// (<see cref="ImageResolver"/>). While another import holds the lock it touches nothing else and
/// says so; the import stays <c>pending</c> and asks again. Retried as a whole: taking a lock this
/// import already holds succeeds, and resolving again writes the same rows. When resolving fails
/// the lock may be held: the orchestration releases it.
/// </summary>
public sealed class BeginImportActivity(ImportLockStore locks, ImageResolver resolver) : TaskActivity<BeginImportInput, BeginImportResult>
{
    public override async Task<BeginImportResult> RunAsync(TaskActivityContext context, BeginImportInput input)
    {
        var ct = CancellationToken.None;
        if (!await locks.TryAcquireAsync(input.Lock.NodeServiceId, input.Lock.CustomerId, input.Lock.ImportId, ct).ConfigureAwait(false))
        {
            return new BeginImportResult(false, []);
        }
        var resolved = await Task.WhenAll(input.Sources.Select(source => resolver.ResolveAsync(source, ct))).ConfigureAwait(false);
        return new BeginImportResult(true, resolved);
    }
}
