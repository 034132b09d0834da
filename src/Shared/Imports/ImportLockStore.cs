using Azure;
using Azure.Data.Tables;
using Pipeline.Storage;

namespace Pipeline.Imports;

/// <summary>
/// One import at a time per node service (table <c>importlocks</c>: partition = node service id).
/// A second import of the same service waits for the lock (on a durable timer, costing nothing
/// while it waits) rather than being refused: a registry that announces the same push twice must
/// not see an error. A lock whose holder has finished (or vanished) is taken over.
/// </summary>
public sealed class ImportLockStore(PipelineStorage storage, ImportStore imports)
{
    public const string Table = "importlocks";
    private const string Row = "lock";

    /// <summary>Takes the lock for <paramref name="importId"/>; false while another running import holds it.</summary>
    public async Task<bool> TryAcquireAsync(string nodeServiceId, string importId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var mine = new TableEntity(nodeServiceId, Row) { ["import_id"] = importId };
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(nodeServiceId, Row, cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (!current.HasValue || current.Value is null)
                {
                    await table.AddEntityAsync(mine, cancellationToken).ConfigureAwait(false);
                    return true;
                }
                string? holder = current.Value.GetString("import_id");
                if (holder == importId)
                {
                    return true;
                }
                var holderView = holder is null ? null : await imports.GetAsync(holder, cancellationToken).ConfigureAwait(false);
                if (holderView is not null && !ImportStatus.IsTerminal(holderView.Status))
                {
                    return false;
                }
                await table.UpdateEntityAsync(mine, current.Value.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                // Someone else moved first: look again.
            }
        }
        return false;
    }

    /// <summary>Releases the lock if <paramref name="importId"/> holds it.</summary>
    public async Task ReleaseAsync(string nodeServiceId, string importId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var current = await table.GetEntityIfExistsAsync<TableEntity>(nodeServiceId, Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (current.HasValue && current.Value?.GetString("import_id") == importId)
        {
            try
            {
                await table.DeleteEntityAsync(nodeServiceId, Row, current.Value.ETag, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412)
            {
            }
        }
    }
}
