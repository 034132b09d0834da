using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Pipeline.Fleet.Rollout;
using Pipeline.Snapshots;
using Pipeline.Storage;

namespace Pipeline.Fleet;

/// <summary>
/// Node services (table <c>nodeservices</c>: partition = customer id, row = node service id).
/// Updates use the row's ETag, so two imports of one service never lose each other's version.
/// </summary>
public sealed class NodeServiceStore(PipelineStorage storage)
{
    public const string Table = "nodeservices";

    public async Task<(NodeService? Service, ETag ETag)> GetAsync(string customerId, string nodeServiceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(customerId, nodeServiceId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value is { } e ? (FromEntity(e), e.ETag) : (null, default);
    }

    /// <summary>
    /// A node service by its id alone (the id is unique across customers: it hashes the customer
    /// id with the name). Callers check the caller may see <see cref="NodeService.CustomerId"/>.
    /// </summary>
    public async Task<(NodeService? Service, ETag ETag)> FindAsync(string nodeServiceId, CancellationToken cancellationToken)
    {
        if (!Ids.IsSafeKey(nodeServiceId))
        {
            return (null, default);
        }
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        await foreach (var e in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey eq {nodeServiceId}"), maxPerPage: 1, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            return (FromEntity(e), e.ETag);
        }
        return (null, default);
    }

    /// <summary>
    /// The node service for an API call: <c>NOT_FOUND</c> when there is none, and
    /// <paramref name="authorize"/> (which throws <c>FORBIDDEN</c>) applied to its customer.
    /// </summary>
    public async Task<NodeService> FindAuthorizedAsync(string nodeServiceId, Action<string> authorize, CancellationToken cancellationToken)
    {
        var (service, _) = await FindAsync(nodeServiceId, cancellationToken).ConfigureAwait(false);
        if (service is null)
        {
            throw new PipelineException(ErrorCodes.NotFound, $"No node service '{nodeServiceId}'.");
        }
        authorize(service.CustomerId);
        return service;
    }

    /// <summary>
    /// Records <paramref name="service"/> as the latest state, if the row still has
    /// <paramref name="etag"/> (default: the row must not exist yet). False when another writer won.
    /// </summary>
    public async Task<bool> TrySaveAsync(NodeService service, ETag etag, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(service.CustomerId, service.NodeServiceId)
        {
            ["name"] = service.Name,
            ["container_version"] = service.ContainerVersion,
            ["container_image"] = service.ContainerImage,
            ["architectures"] = string.Join(',', service.Architectures),
            ["network"] = JsonSerializer.Serialize(service.Network, FleetJsonContext.Default.NodeServiceNetwork),
            ["rollout_policy"] = JsonSerializer.Serialize(service.Policy, FleetJsonContext.Default.RolloutPolicy),
        };
        if (service.Rollout is { } rollout)
        {
            entity["base_version"] = rollout.BaseVersion ?? 0;
            entity["rolling_version"] = rollout.RollingVersion ?? 0;
            entity["rolling_wave"] = rollout.RollingWave;
            entity["rolling_waves"] = rollout.RollingWaves;
            entity["rolled_back"] = string.Join(',', rollout.RolledBack);
        }
        try
        {
            if (etag == default)
            {
                await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await table.UpdateEntityAsync(entity, etag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            }
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            return false;
        }
    }

    /// <summary>A page of a customer's node services, ordered by name, and how many there are.</summary>
    public async Task<(IReadOnlyList<NodeService> Page, int Total)> ListAsync(string customerId, int skip, int take, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var all = new List<NodeService>();
        await foreach (var e in table.QueryPartitionAsync(customerId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            all.Add(FromEntity(e));
        }
        all.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return (all.Skip(skip).Take(take).ToList(), all.Count);
    }

    private static NodeService FromEntity(TableEntity e) => new(
        e.PartitionKey,
        e.RowKey,
        e.GetString("name") ?? "",
        e.GetInt32("container_version"),
        e.GetString("container_image"),
        (e.GetString("architectures") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
    {
        Network = e.GetString("network") is { Length: > 0 } json
            ? JsonSerializer.Deserialize(json, FleetJsonContext.Default.NodeServiceNetwork) ?? NodeServiceNetwork.None
            : NodeServiceNetwork.None,
        Policy = e.GetString("rollout_policy") is { Length: > 0 } policy
            ? JsonSerializer.Deserialize(policy, FleetJsonContext.Default.RolloutPolicy) ?? RolloutPolicy.Default
            : RolloutPolicy.Default,
        Rollout = e.GetInt32("base_version") is int baseVersion
            ? new RolloutPointer(
                baseVersion == 0 ? null : baseVersion,
                e.GetInt32("rolling_version") is int r and > 0 ? r : null,
                e.GetInt32("rolling_wave") ?? -1,
                e.GetInt32("rolling_waves") ?? 0,
                (e.GetString("rolled_back") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToList())
            : null,
    };

    /// <summary>
    /// Reads the service, applies <paramref name="change"/> and writes it under the row's ETag,
    /// again on a lost race; <paramref name="change"/> returns null to write nothing. Returns the
    /// service as written (or as found, when nothing was written); null when there is none.
    /// </summary>
    public async Task<NodeService?> UpdateAsync(string customerId, string nodeServiceId, Func<NodeService, NodeService?> change, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var (service, etag) = await GetAsync(customerId, nodeServiceId, cancellationToken).ConfigureAwait(false);
            if (service is null)
            {
                return null;
            }
            if (change(service) is not { } changed)
            {
                return service;
            }
            if (await TrySaveAsync(changed, etag, cancellationToken).ConfigureAwait(false))
            {
                return changed;
            }
        }
        throw new PipelineException(ErrorCodes.Conflict, "The node service changed too often meanwhile; try again.");
    }
}
