using Microsoft.DurableTask;
using Pipeline.Oci;

namespace Pipeline.Imports;

public sealed record RecordBlobsInput(string ImportId, IReadOnlyList<Descriptor> Blobs);

/// <summary>Records the blobs an import will copy, so progress shows totals from the start.</summary>
public sealed class RecordBlobsActivity(ImportStore imports) : TaskActivity<RecordBlobsInput, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, RecordBlobsInput input)
    {
        await imports.RecordBlobsAsync(input.ImportId, input.Blobs, CancellationToken.None).ConfigureAwait(false);
        return true;
    }
}
