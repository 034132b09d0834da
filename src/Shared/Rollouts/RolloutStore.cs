using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Pipeline.Fleet.Rollout;
using Pipeline.Storage;

namespace Pipeline.Rollouts;

/// <summary>
/// <see cref="RolloutRecord"/>s (table <c>rollouts</c>: partition = node service id, row = the
/// version as ten digits, so a node service's rollouts list in version order).
/// </summary>
public sealed class RolloutStore(PipelineStorage storage)
{
    public const string Table = "rollouts";

    public static string RowKey(int version) => version.ToString("D10", CultureInfo.InvariantCulture);

    public async Task<RolloutRecord?> GetAsync(string nodeServiceId, int version, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(nodeServiceId, RowKey(version), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value is { } e ? FromEntity(e) : null;
    }

    /// <summary>The rollouts of a node service still running (normally at most one).</summary>
    public async Task<IReadOnlyList<RolloutRecord>> ListRunningAsync(string nodeServiceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var running = new List<RolloutRecord>();
        string filter = TableClient.CreateQueryFilter($"PartitionKey eq {nodeServiceId} and state eq {RolloutRecord.RollingOut}");
        await foreach (var e in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            running.Add(FromEntity(e));
        }
        return running;
    }

    /// <summary>Adds the record unless one exists (a second attempt of the same start); returns what is stored.</summary>
    public async Task<RolloutRecord> AddOrGetAsync(RolloutRecord record, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            await table.AddEntityAsync(ToEntity(record), cancellationToken).ConfigureAwait(false);
            return record;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return await GetAsync(record.NodeServiceId, record.Version, cancellationToken).ConfigureAwait(false) ?? record;
        }
    }

    /// <summary>
    /// Applies <paramref name="change"/> to a running rollout under the row's ETag. A rollout that
    /// already ended is left as it is (its end is final); returns the record as stored.
    /// </summary>
    public async Task<RolloutRecord?> UpdateRunningAsync(string nodeServiceId, int version, Func<RolloutRecord, RolloutRecord> change, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>(nodeServiceId, RowKey(version), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!row.HasValue || row.Value is not { } e)
            {
                return null;
            }
            var current = FromEntity(e);
            if (!current.IsRunning)
            {
                return current;
            }
            var changed = change(current);
            try
            {
                await table.UpdateEntityAsync(ToEntity(changed), e.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return changed;
            }
            catch (RequestFailedException x) when (x.Status == 412)
            {
            }
        }
        throw new PipelineException(ErrorCodes.Conflict, "The rollout changed too often meanwhile.");
    }

    private static TableEntity ToEntity(RolloutRecord r)
    {
        var e = new TableEntity(r.NodeServiceId, RowKey(r.Version))
        {
            ["version"] = r.Version,
            ["state"] = r.State,
            ["waves"] = JsonSerializer.Serialize(r.Waves, RolloutJsonContext.Default.IReadOnlyListRolloutWaveCounts),
            ["reason"] = r.Reason,
            ["policy"] = JsonSerializer.Serialize(r.Policy, RolloutJsonContext.Default.RolloutPolicy),
            ["started_at"] = r.StartedAt,
            ["wave_started_at"] = r.WaveStartedAt,
            ["updated_at"] = r.UpdatedAt,
        };
        if (r.CurrentWave is int wave)
        {
            e["current_wave"] = wave;
        }
        return e;
    }

    private static RolloutRecord FromEntity(TableEntity e) => new(
        e.PartitionKey,
        e.GetInt32("version") ?? 0,
        e.GetString("state") ?? RolloutRecord.RollingOut,
        e.GetInt32("current_wave"),
        JsonSerializer.Deserialize(e.GetString("waves") ?? "[]", RolloutJsonContext.Default.IReadOnlyListRolloutWaveCounts) ?? [],
        e.GetString("reason"),
        e.GetString("policy") is { Length: > 0 } p ? JsonSerializer.Deserialize(p, RolloutJsonContext.Default.RolloutPolicy) ?? RolloutPolicy.Default : RolloutPolicy.Default,
        e.GetDateTimeOffset("started_at") ?? DateTimeOffset.MinValue,
        e.GetDateTimeOffset("wave_started_at"),
        e.GetDateTimeOffset("updated_at") ?? DateTimeOffset.MinValue);
}
