using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Pipeline.Imports;
using Pipeline.Storage;

namespace Pipeline.Webhooks;

/// <summary>
/// One webhook import per node service and pushed tag at a time (table <c>webhookimports</c>:
/// partition = node service id, row = a hash of the tag). The first delivery claims the row with
/// its import id; every delivery that arrives while that import is still pending or running —
/// at the same moment or later, once per architecture or twice over — gets the same import. Once
/// it has ended, the next push starts a new one. A claim whose import was never created (its
/// process died in between) is taken over after a few minutes.
/// </summary>
public sealed class WebhookImportClaims(PipelineStorage storage, ImportStore imports, TimeProvider time)
{
    public const string Table = "webhookimports";

    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The import that handles this push: <paramref name="candidateImportId"/> when the caller
    /// should start it now (<c>Start</c> true), or the one already under way.
    /// </summary>
    public async Task<(string ImportId, bool Start)> ClaimAsync(string nodeServiceId, string pushKey, string candidateImportId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var mine = new TableEntity(nodeServiceId, RowKey(pushKey)) { ["import_id"] = candidateImportId, ["claimed"] = time.GetUtcNow() };
        for (int attempt = 0; attempt < 8; attempt++)
        {
            try
            {
                await table.AddEntityAsync(mine, cancellationToken).ConfigureAwait(false);
                return (candidateImportId, true);
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
            }
            var current = await table.GetEntityIfExistsAsync<TableEntity>(mine.PartitionKey, mine.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!current.HasValue || current.Value is null)
            {
                continue;
            }
            string holder = current.Value.GetString("import_id") ?? "";
            var view = await imports.GetAsync(holder, cancellationToken).ConfigureAwait(false);
            bool abandoned = view is null && time.GetUtcNow() - (current.Value.GetDateTimeOffset("claimed") ?? DateTimeOffset.MinValue) > AbandonedAfter;
            if (!abandoned && (view is null || !ImportStatus.IsTerminal(view.Status)))
            {
                return (holder, false);
            }
            try
            {
                await table.UpdateEntityAsync(mine, current.Value.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return (candidateImportId, true);
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412)
            {
                // Another delivery moved first: look again.
            }
        }
        throw new PipelineException(ErrorCodes.Conflict, "Too many deliveries for this node service at once; the registry will retry.");
    }

    /// <summary>Gives a claim back when its import could not be started.</summary>
    public async Task ReleaseAsync(string nodeServiceId, string pushKey, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            await table.DeleteEntityAsync(nodeServiceId, RowKey(pushKey), ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    private static string RowKey(string pushKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(pushKey)))[..40];
}
