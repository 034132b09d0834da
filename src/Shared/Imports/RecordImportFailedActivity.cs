using Microsoft.DurableTask;

namespace Pipeline.Imports;

public sealed record RecordImportFailedInput(string ImportId, string Code, string Message);

/// <summary>Marks an import failed with the code and message the user sees.</summary>
public sealed class RecordImportFailedActivity(ImportStore imports) : TaskActivity<RecordImportFailedInput, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, RecordImportFailedInput input)
    {
        await imports.FailAsync(input.ImportId, input.Code, input.Message, CancellationToken.None).ConfigureAwait(false);
        return true;
    }
}
