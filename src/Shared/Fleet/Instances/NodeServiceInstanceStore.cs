using Azure;
using Azure.Data.Tables;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Networking;
using Pipeline.Fleet.Rollout;
using Pipeline.Storage;

namespace Pipeline.Fleet.Instances;

/// <summary>
/// Node service instances (table <c>instances</c>: partition = node service id, row = instance
/// id). One partition per node service makes "all instances of a service" (listing, fan-out to
/// a new version) a single-partition query; the instance id names its partition
/// (<see cref="NodeServiceInstanceIds"/>).
/// </summary>
public sealed class NodeServiceInstanceStore(PipelineStorage storage)
{
    public const string Table = "instances";

    public async Task AddAsync(NodeServiceInstance instance, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(instance.NodeServiceId, instance.InstanceId)
        {
            ["customer_id"] = instance.CustomerId,
            ["device_id"] = instance.DeviceId,
            ["arch"] = instance.Arch,
            ["selector"] = instance.Selector.ToStorageValue(),
            ["config_map"] = instance.ConfigMapJson,
            ["created"] = instance.Created,
        };
        WriteWindow(entity, instance.DeviceWindow);
        if (instance.RolloutVersion is int rolloutVersion)
        {
            entity["rollout_version"] = rolloutVersion;
            entity["rollout_wave"] = instance.RolloutWave;
        }
        if (instance.Lan is { } lan)
        {
            entity["lan_interface_address"] = lan.InterfaceAddress;
            entity["lan_subnet"] = lan.Subnet;
            entity["lan_dhcp_range_start"] = lan.DhcpRangeStart;
            entity["lan_dhcp_range_end"] = lan.DhcpRangeEnd;
            entity["lan_slot"] = lan.Slot;
        }
        await FleetTableRetry.RunAsync(() => table.AddEntityAsync(entity, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The instance and its row's ETag, or null when there is none with that id.</summary>
    public async Task<(NodeServiceInstance? Instance, ETag ETag)> GetAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (!NodeServiceInstanceIds.TryGetNodeServiceId(instanceId, out string? nodeServiceId))
        {
            return (null, default);
        }
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await FleetTableRetry.RunAsync(() => table.GetEntityIfExistsAsync<TableEntity>(nodeServiceId, instanceId, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value is { } e ? (FromEntity(e), e.ETag) : (null, default);
    }

    /// <summary>Every instance of a node service, oldest first.</summary>
    public async Task<IReadOnlyList<NodeServiceInstance>> ListAsync(string nodeServiceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        return await FleetTableRetry.RunAsync<IReadOnlyList<NodeServiceInstance>>(async () =>
        {
            var all = new List<NodeServiceInstance>();
            await foreach (var e in table.QueryPartitionAsync(nodeServiceId, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                all.Add(FromEntity(e));
            }
            return all.OrderBy(i => i.Created).ThenBy(i => i.InstanceId, StringComparer.Ordinal).ToList();
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One page of a node service's instances in id order, and the cursor of the next page (null
    /// after the last): how a fan-out walks a fleet of any size.
    /// </summary>
    public async Task<(IReadOnlyList<NodeServiceInstance> Page, string? Next)> ListPageAsync(string nodeServiceId, string? cursor, int pageSize, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        return await FleetTableRetry.RunAsync<(IReadOnlyList<NodeServiceInstance>, string?)>(async () =>
        {
            await foreach (var page in table.QueryPartitionAsync(nodeServiceId, maxPerPage: pageSize, cancellationToken: cancellationToken)
                .AsPages(cursor, pageSize).ConfigureAwait(false))
            {
                return (page.Values.Select(FromEntity).ToList(), page.ContinuationToken);
            }
            return ([], null);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The ids of a node service's instances (a key-only query).</summary>
    public async Task<IReadOnlySet<string>> ListIdsAsync(string nodeServiceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        return await FleetTableRetry.RunAsync<IReadOnlySet<string>>(async () =>
        {
            var ids = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var e in table.QueryPartitionAsync(nodeServiceId, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                ids.Add(e.RowKey);
            }
            return ids;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the instance if its row is unchanged since read; false when it changed or is gone.</summary>
    public async Task<bool> TryDeleteAsync(NodeServiceInstance instance, ETag etag, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await table.DeleteEntityAsync(instance.NodeServiceId, instance.InstanceId, etag, cancellationToken).ConfigureAwait(false);
            return response.Status != 404;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>Sets the instance's selector; false when the instance no longer exists.</summary>
    public async Task<bool> TrySetSelectorAsync(string nodeServiceId, string instanceId, VersionTargetSelector selector, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(nodeServiceId, instanceId) { ["selector"] = selector.ToStorageValue() };
        try
        {
            // A merge touches only the selector; setting it is last-writer-wins by nature.
            await FleetTableRetry.RunAsync(() => table.UpdateEntityAsync(entity, ETag.All, TableUpdateMode.Merge, cancellationToken), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    /// <summary>
    /// Records a device's report on the instance's row (a merge of the status columns only, so it
    /// never undoes a selector change); false when the instance no longer exists, and then nothing
    /// is written: a merge that must match a row never creates one.
    /// </summary>
    public async Task<bool> TrySetStatusAsync(string nodeServiceId, string instanceId, InstanceStatus status, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(nodeServiceId, instanceId)
        {
            ["status_version"] = status.ContainerVersion,
            ["status_state"] = status.State,
            ["status_healthy"] = status.Healthy,
            ["status_message"] = status.Message ?? "",
            ["status_reported_at"] = status.ReportedAt,
        };
        try
        {
            await FleetTableRetry.RunAsync(() => table.UpdateEntityAsync(entity, ETag.All, TableUpdateMode.Merge, cancellationToken), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    /// <summary>
    /// Puts instances into the waves of <paramref name="version"/>'s rollout (a merge of the two
    /// rollout columns, a hundred rows per request). An instance removed meanwhile is skipped.
    /// </summary>
    public async Task SetRolloutWavesAsync(string nodeServiceId, int version, IReadOnlyList<(string InstanceId, int Wave)> waves, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        TableEntity Entity(string id, int wave) => new(nodeServiceId, id) { ["rollout_version"] = version, ["rollout_wave"] = wave };
        foreach (var chunk in waves.Chunk(100))
        {
            try
            {
                await FleetTableRetry.RunAsync(() => table.SubmitTransactionAsync(
                    chunk.Select(w => new TableTransactionAction(TableTransactionActionType.UpdateMerge, Entity(w.InstanceId, w.Wave), ETag.All)), cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException)
            {
                // One row of the batch is gone (removed meanwhile): the others one by one.
                foreach (var (id, wave) in chunk)
                {
                    try
                    {
                        await table.UpdateEntityAsync(Entity(id, wave), ETag.All, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                    }
                    catch (RequestFailedException e) when (e.Status == 404)
                    {
                    }
                }
            }
        }
    }

    /// <summary>
    /// Records what a report made of the instance's part in a rollout, if the row is unchanged
    /// since <paramref name="etag"/>; false when another report (or a change) came first.
    /// </summary>
    public async Task<bool> TrySetRolloutResultAsync(string nodeServiceId, string instanceId, RolloutResult result, ETag etag, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(nodeServiceId, instanceId)
        {
            ["rollout_result_version"] = result.Version,
            ["rollout_result_healthy"] = result.Healthy,
            ["rollout_result_at"] = result.At,
        };
        try
        {
            await table.UpdateEntityAsync(entity, etag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>Sets the device's window on an instance's row (null clears it); false when the instance no longer exists.</summary>
    public async Task<bool> TrySetDeviceWindowAsync(string instanceId, UpdateWindow? window, CancellationToken cancellationToken)
    {
        if (!NodeServiceInstanceIds.TryGetNodeServiceId(instanceId, out string? nodeServiceId))
        {
            return false;
        }
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(nodeServiceId, instanceId);
        WriteWindow(entity, window);
        try
        {
            await FleetTableRetry.RunAsync(() => table.UpdateEntityAsync(entity, ETag.All, TableUpdateMode.Merge, cancellationToken), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    /// <summary>The window's columns; an empty start means no window (a merge cannot remove a column).</summary>
    private static void WriteWindow(TableEntity entity, UpdateWindow? window)
    {
        entity["window_start"] = window?.StartText ?? "";
        entity["window_end"] = window?.EndText ?? "";
        entity["window_timezone"] = window?.TimeZoneId ?? "";
    }

    private static UpdateWindow? ReadWindow(TableEntity e)
    {
        if (e.GetString("window_start") is not { Length: > 0 } start)
        {
            return null;
        }
        try
        {
            return UpdateWindow.Parse(start, e.GetString("window_end"), e.GetString("window_timezone"));
        }
        catch (PipelineException)
        {
            // A zone this machine no longer knows: no window rather than no deployment.
            return null;
        }
    }

    private static NodeServiceInstance FromEntity(TableEntity e) => new(
        e.RowKey,
        e.PartitionKey,
        e.GetString("customer_id") ?? "",
        e.GetString("device_id") ?? "",
        e.GetString("arch") ?? "",
        VersionTargetSelector.FromStorageValue(e.GetString("selector")),
        e.GetString("lan_interface_address") is { } address
            ? new LanAllocation(address, e.GetString("lan_subnet") ?? "", e.GetString("lan_dhcp_range_start"), e.GetString("lan_dhcp_range_end"), e.GetInt64("lan_slot"))
            : null,
        e.GetString("config_map"),
        e.GetDateTimeOffset("created") ?? DateTimeOffset.MinValue)
    {
        DeviceWindow = ReadWindow(e),
        Status = e.GetInt32("status_version") is int version && e.GetDateTimeOffset("status_reported_at") is { } at
            ? new InstanceStatus(version, e.GetString("status_state") ?? "", e.GetBoolean("status_healthy") ?? false,
                e.GetString("status_message") is { Length: > 0 } m ? m : null, at)
            : null,
        RolloutVersion = e.GetInt32("rollout_version"),
        RolloutWave = e.GetInt32("rollout_wave") ?? 0,
        RolloutResult = e.GetInt32("rollout_result_version") is int resultVersion && e.GetDateTimeOffset("rollout_result_at") is { } resultAt
            ? new RolloutResult(resultVersion, e.GetBoolean("rollout_result_healthy") ?? false, resultAt)
            : null,
    };
}
