using Azure;
using Azure.Data.Tables;
using Pipeline.Storage;

namespace Pipeline.Fleet.Devices;

/// <summary>
/// Devices (table <c>devices</c>: partition = device id, row = <c>device</c>). Device ids are
/// global, so registration is an insert that fails when any customer already has the id. The row
/// holds the owner, the arch, the current key's hash and the update window; changes are
/// read-modify-write guarded by the row's ETag. A rotated key stops working at once because
/// only the current hash is kept. Beside the device row, its partition holds one row per instance
/// on the device (<c>instance:{id}</c>), so what a device runs is one single-partition query.
/// </summary>
public sealed class DeviceStore(PipelineStorage storage, TimeProvider time)
{
    public const string Table = "devices";
    private const string Row = "device";
    private const string InstanceRowPrefix = "instance:";
    private const int MaxAttempts = 8;

    /// <summary>Records a new device and returns it with its first key (shown once).</summary>
    public async Task<(Device Device, string Key)> RegisterAsync(string customerId, string deviceId, string arch, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        string key = DeviceKeys.New();
        var entity = new TableEntity(deviceId, Row)
        {
            ["customer_id"] = customerId,
            ["arch"] = arch,
            ["key_hash"] = DeviceKeys.Hash(key),
            ["created"] = time.GetUtcNow(),
        };
        try
        {
            await FleetTableRetry.RunAsync(() => table.AddEntityAsync(entity, cancellationToken), cancellationToken).ConfigureAwait(false);
            return (new Device(deviceId, customerId, arch, null), key);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var existing = await GetAsync(deviceId, cancellationToken).ConfigureAwait(false);
            throw new PipelineException(ErrorCodes.Conflict, existing?.CustomerId == customerId
                ? $"Device '{deviceId}' is already registered; DM_create_device_key issues a new key."
                : $"Device '{deviceId}' is registered to another customer.");
        }
    }

    /// <summary>The device, or null when no device has that id.</summary>
    public async Task<Device?> GetAsync(string deviceId, CancellationToken cancellationToken)
    {
        var row = await GetRowAsync(deviceId, cancellationToken).ConfigureAwait(false);
        return row is null ? null : FromEntity(row);
    }

    /// <summary>Replaces the device's key with a new one and returns it (shown once); the old key stops working.</summary>
    public async Task<string> RotateKeyAsync(string deviceId, CancellationToken cancellationToken)
    {
        string key = DeviceKeys.New();
        await UpdateAsync(deviceId, e => e["key_hash"] = DeviceKeys.Hash(key), cancellationToken).ConfigureAwait(false);
        return key;
    }

    /// <summary>Sets (or with null clears) the device's update window.</summary>
    public Task SetUpdateWindowAsync(string deviceId, UpdateWindow? window, CancellationToken cancellationToken) =>
        UpdateAsync(deviceId, e =>
        {
            if (window is null)
            {
                e.Remove("window_start");
                e.Remove("window_end");
                e.Remove("window_timezone");
            }
            else
            {
                e["window_start"] = window.StartText;
                e["window_end"] = window.EndText;
                e["window_timezone"] = window.TimeZoneId;
            }
        }, cancellationToken);

    /// <summary>
    /// The device a device key opens: <paramref name="deviceId"/> itself when the key is its
    /// current key, otherwise null (a key of another device, an old key, an unknown device).
    /// </summary>
    public async Task<Device?> AuthenticateAsync(string deviceId, string? key, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(key) || !key.StartsWith(DeviceKeys.Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var row = await GetRowAsync(deviceId, cancellationToken).ConfigureAwait(false);
        return row is not null && DeviceKeys.Matches(key, row.GetString("key_hash")) ? FromEntity(row) : null;
    }

    /// <summary>
    /// Like <see cref="AuthenticateAsync"/>, and with the ids of the device's instances, read in
    /// the same query. A link may outlive its instance for a moment (a removal in progress): callers
    /// read each instance and skip those that are gone.
    /// </summary>
    public async Task<(Device? Device, IReadOnlyList<string> InstanceIds)> AuthenticateWithInstancesAsync(string deviceId, string? key, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(key) || !key.StartsWith(DeviceKeys.Prefix, StringComparison.Ordinal) || !Ids.IsSafeKey(deviceId))
        {
            return (null, []);
        }
        var (device, instances) = await ReadPartitionAsync(deviceId, cancellationToken).ConfigureAwait(false);
        return device is not null && DeviceKeys.Matches(key, device.GetString("key_hash")) ? (FromEntity(device), instances) : (null, []);
    }

    /// <summary>The ids of the instances on a device (none for an unknown device).</summary>
    public async Task<IReadOnlyList<string>> ListInstanceIdsAsync(string deviceId, CancellationToken cancellationToken) =>
        Ids.IsSafeKey(deviceId) ? (await ReadPartitionAsync(deviceId, cancellationToken).ConfigureAwait(false)).Instances : [];

    /// <summary>The device's row and the ids of its instance links, in one single-partition query.</summary>
    private async Task<(TableEntity? Device, IReadOnlyList<string> Instances)> ReadPartitionAsync(string deviceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        return await FleetTableRetry.RunAsync<(TableEntity?, IReadOnlyList<string>)>(async () =>
        {
            TableEntity? device = null;
            var instances = new List<string>();
            await foreach (var e in table.QueryPartitionAsync(deviceId, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (e.RowKey == Row)
                {
                    device = e;
                }
                else if (e.RowKey.StartsWith(InstanceRowPrefix, StringComparison.Ordinal))
                {
                    instances.Add(e.RowKey[InstanceRowPrefix.Length..]);
                }
            }
            return (device, instances);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records that <paramref name="instanceId"/> runs on the device (idempotent).</summary>
    public async Task LinkInstanceAsync(string deviceId, string instanceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        await FleetTableRetry.RunAsync(() => table.UpsertEntityAsync(new TableEntity(deviceId, InstanceRowPrefix + instanceId), TableUpdateMode.Replace, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forgets that <paramref name="instanceId"/> runs on the device (idempotent).</summary>
    public async Task UnlinkInstanceAsync(string deviceId, string instanceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            await FleetTableRetry.RunAsync(() => table.DeleteEntityAsync(deviceId, InstanceRowPrefix + instanceId, ETag.All, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // Already gone.
        }
    }

    private async Task<TableEntity?> GetRowAsync(string deviceId, CancellationToken cancellationToken)
    {
        if (!Ids.IsSafeKey(deviceId))
        {
            return null;
        }
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await FleetTableRetry.RunAsync(() => table.GetEntityIfExistsAsync<TableEntity>(deviceId, Row, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value : null;
    }

    private async Task UpdateAsync(string deviceId, Action<TableEntity> change, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        for (int attempt = 1; ; attempt++)
        {
            var row = await GetRowAsync(deviceId, cancellationToken).ConfigureAwait(false)
                ?? throw new PipelineException(ErrorCodes.NotFound, $"No device '{deviceId}'.");
            change(row);
            try
            {
                await FleetTableRetry.RunAsync(() => table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken), cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException e) when (e.Status is 412 or 404)
            {
                // Another change landed first (or the row went): read again and reapply.
                if (attempt == MaxAttempts)
                {
                    throw new PipelineException(ErrorCodes.Conflict, $"Device '{deviceId}' is being changed by other calls; try again.");
                }
            }
        }
    }

    private static Device FromEntity(TableEntity e)
    {
        UpdateWindow? window = null;
        if (e.GetString("window_start") is { } start)
        {
            try
            {
                window = UpdateWindow.Parse(start, e.GetString("window_end"), e.GetString("window_timezone"));
            }
            catch (PipelineException)
            {
                // A zone this machine no longer knows: treat as no window rather than refuse to deploy.
            }
        }
        return new Device(e.PartitionKey, e.GetString("customer_id") ?? "", e.GetString("arch") ?? "", window);
    }
}
