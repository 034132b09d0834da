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
