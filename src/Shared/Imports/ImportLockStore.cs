using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Pipeline.Storage;

namespace Pipeline.Imports;

/// <summary>How many imports of one customer run at once (configuration <c>Pipeline:Limits:ImportsPerCustomer</c>).</summary>
public sealed class ImportLimitOptions
{
    public const string Section = "Pipeline:Limits";

    /// <summary>The most <see cref="ImportsPerCustomer"/> may be: each slot is a row an import may have to look at.</summary>
    public const int MaxImportsPerCustomer = 100;

    public int ImportsPerCustomer { get; set; } = 4;
}

/// <summary>
/// One import at a time per node service, and at most <see cref="ImportLimitOptions.ImportsPerCustomer"/>
/// per customer (table <c>importlocks</c>: partition = node service id, row <c>lock</c>; partition
/// <c>customer:{id}</c>, rows <c>slot0</c>…). An import that finds no lock or slot free waits (on
/// a durable timer, costing nothing while it waits) rather than being refused: a registry that
/// announces the same push twice must not see an error, and a customer importing a hundred
/// services gets them all, a few at a time. A lock or slot whose holder has finished (or
/// vanished) is taken over.
/// </summary>
public sealed class ImportLockStore(PipelineStorage storage, ImportStore imports, IOptions<ImportLimitOptions> limits)
{
    public const string Table = "importlocks";
    private const string Row = "lock";

    /// <summary>
    /// Takes the node service's lock and one of the customer's slots for <paramref name="importId"/>;
    /// false (holding neither) while another running import holds the lock or every slot.
    /// </summary>
    public async Task<bool> TryAcquireAsync(string nodeServiceId, string? customerId, string importId, CancellationToken cancellationToken)
    {
        if (!await TryTakeAsync(nodeServiceId, Row, importId, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        if (customerId is null)
        {
            return true;
        }
        for (int slot = 0; slot < limits.Value.ImportsPerCustomer; slot++)
        {
            if (await TryTakeAsync(CustomerPartition(customerId), SlotRow(slot), importId, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }
        await ReleaseRowAsync(nodeServiceId, Row, importId, cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <summary>Releases the lock and the slot if <paramref name="importId"/> holds them.</summary>
    public async Task ReleaseAsync(string nodeServiceId, string? customerId, string importId, CancellationToken cancellationToken)
    {
        await ReleaseRowAsync(nodeServiceId, Row, importId, cancellationToken).ConfigureAwait(false);
        if (customerId is not null)
        {
            // Slots beyond today's limit too: the limit may have been lowered while this import ran.
            for (int slot = 0; slot < Math.Max(limits.Value.ImportsPerCustomer, ImportLimitOptions.MaxImportsPerCustomer); slot++)
            {
                if (await ReleaseRowAsync(CustomerPartition(customerId), SlotRow(slot), importId, cancellationToken).ConfigureAwait(false) is not false)
                {
                    return;
                }
            }
        }
    }

    private static string CustomerPartition(string customerId) => "customer:" + customerId;

    private static string SlotRow(int slot) => "slot" + slot.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task<bool> TryTakeAsync(string partition, string row, string importId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var mine = new TableEntity(partition, row) { ["import_id"] = importId };
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, row, cancellationToken: cancellationToken).ConfigureAwait(false);
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
            catch (RequestFailedException e) when (e.Status is 404 or 409 or 412)
            {
                // Someone else moved first: look again. 404: the finished holder released the
                // row between our read and our replace (the next import of a node service often
                // starts while the previous one, already completed, releases its lock).
            }
        }
        return false;
    }

    /// <summary>Deletes the row if <paramref name="importId"/> holds it: true when it did, false when another holds it, null when there is no row.</summary>
    private async Task<bool?> ReleaseRowAsync(string partition, string row, string importId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var current = await table.GetEntityIfExistsAsync<TableEntity>(partition, row, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!current.HasValue || current.Value is null)
        {
            return null;
        }
        if (current.Value.GetString("import_id") != importId)
        {
            return false;
        }
        try
        {
            await table.DeleteEntityAsync(partition, row, current.Value.ETag, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
        }
        return true;
    }
}
