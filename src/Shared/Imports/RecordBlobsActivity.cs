using Microsoft.DurableTask;
using Pipeline.Oci;

namespace Pipeline.Imports;

public sealed record RecordBlobsInput(string ImportId, IReadOnlyList<Descriptor> Blobs);

/// <summary>
/// Records the blobs an import will copy, so progress shows totals from the start. Imports now
/// record them while resolving (<see cref="ResolveImageActivity"/>); this stays registered for
/// orchestrations started by an earlier build, whose history still calls it.
/// </summary>
public sealed class RecordBlobsActivity(ImportStore imports) : TaskActivity<RecordBlobsInput, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, RecordBlobsInput input)
    {
        await imports.RecordBlobsAsync(input.ImportId, input.Blobs, CancellationToken.None).ConfigureAwait(false);
        return true;
    }
}
