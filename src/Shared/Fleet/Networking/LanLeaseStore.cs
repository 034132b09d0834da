using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Pipeline.Storage;

namespace Pipeline.Fleet.Networking;

/// <summary>
/// Claims of per-instance LAN ranges (table <c>lanleases</c>: partition = node service id,
/// row = slot number, zero-padded). A claim is an insert, which Table Storage refuses with 409
/// when the row exists, so two writers (in any process) can never own one slot, and no writer
/// waits for another: each conflict costs one round trip and names a slot to skip. Removing an
/// instance deletes its row, so the slot is free for the next instance.
/// </summary>
public sealed class LanLeaseStore(PipelineStorage storage)
{
    public const string Table = "lanleases";

    public static string RowKey(long slot) => slot.ToString("D10", CultureInfo.InvariantCulture);

    /// <summary>Claims <paramref name="slot"/> for <paramref name="instanceId"/>; false when another instance holds it.</summary>
    public async Task<bool> TryClaimAsync(string nodeServiceId, long slot, string instanceId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(nodeServiceId, RowKey(slot))
        {
            ["instance_id"] = instanceId,
            ["claimed"] = now,
        };
        try
        {
            await FleetTableRetry.RunAsync(() => table.AddEntityAsync(entity, cancellationToken), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    /// <summary>Every claim of a node service.</summary>
    public async Task<IReadOnlyList<LanLease>> ListAsync(string nodeServiceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        return await FleetTableRetry.RunAsync<IReadOnlyList<LanLease>>(async () =>
        {
            var leases = new List<LanLease>();
            await foreach (var e in table.QueryPartitionAsync(nodeServiceId, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (long.TryParse(e.RowKey, NumberStyles.None, CultureInfo.InvariantCulture, out long slot))
                {
                    leases.Add(new LanLease(nodeServiceId, slot, e.GetString("instance_id") ?? "", e.GetDateTimeOffset("claimed") ?? DateTimeOffset.MinValue, e.ETag));
                }
            }
            return leases;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Frees <paramref name="slot"/> if <paramref name="instanceId"/> still holds it (idempotent).</summary>
    public async Task ReleaseAsync(string nodeServiceId, long slot, string instanceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await FleetTableRetry.RunAsync(() => table.GetEntityIfExistsAsync<TableEntity>(nodeServiceId, RowKey(slot), cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        if (row.HasValue && row.Value is { } e && e.GetString("instance_id") == instanceId)
        {
            await TryDeleteAsync(nodeServiceId, slot, e.ETag, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes a claim if it is unchanged since it was read; false when it changed or is gone.</summary>
    public async Task<bool> TryDeleteAsync(string nodeServiceId, long slot, ETag etag, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            await table.DeleteEntityAsync(nodeServiceId, RowKey(slot), etag, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }
}
