using Microsoft.DurableTask;

namespace Pipeline.Imports;

public sealed record ImportLockInput(string NodeServiceId, string ImportId);

/// <summary>Tries to take the node service's import lock (see <see cref="ImportLockStore"/>).</summary>
public sealed class AcquireImportLockActivity(ImportLockStore locks) : TaskActivity<ImportLockInput, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, ImportLockInput input) =>
        locks.TryAcquireAsync(input.NodeServiceId, input.ImportId, CancellationToken.None);
}

/// <summary>Releases the node service's import lock held by this import.</summary>
public sealed class ReleaseImportLockActivity(ImportLockStore locks) : TaskActivity<ImportLockInput, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, ImportLockInput input)
    {
        await locks.ReleaseAsync(input.NodeServiceId, input.ImportId, CancellationToken.None).ConfigureAwait(false);
        return true;
    }
}
