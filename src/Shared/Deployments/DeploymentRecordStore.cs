using Azure;
using Azure.Data.Tables;
using Pipeline.Storage;

namespace Pipeline.Deployments;

/// <summary>
/// <see cref="DeploymentRecord"/>s (table <c>deployments</c>: partition = node service id, row =
/// instance id, the same keys as the instance), so a page of instances finds its records with
/// one range query and a fan-out writes a page's records in a few batch transactions.
/// </summary>
public sealed class DeploymentRecordStore(PipelineStorage storage)
{
    public const string Table = "deployments";

    /// <summary>A batch transaction holds at most 100 entities of one partition.</summary>
    private const int BatchSize = 100;

    /// <summary>The records of instances whose ids lie in [<paramref name="firstId"/>, <paramref name="lastId"/>].</summary>
    public async Task<Dictionary<string, DeploymentRecord>> GetRangeAsync(string nodeServiceId, string firstId, string lastId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var records = new Dictionary<string, DeploymentRecord>(StringComparer.Ordinal);
        string filter = TableClient.CreateQueryFilter($"PartitionKey eq {nodeServiceId} and RowKey ge {firstId} and RowKey le {lastId}");
        await foreach (var e in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            records[e.RowKey] = FromEntity(e);
        }
        return records;
    }

    /// <summary>The record of one instance, or null when nothing was sent to it yet.</summary>
    public async Task<DeploymentRecord?> GetAsync(string nodeServiceId, string instanceId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(nodeServiceId, instanceId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value is { } e ? FromEntity(e) : null;
    }

    /// <summary>Writes records (replacing what was there), a hundred per request.</summary>
    public async Task SaveAsync(string nodeServiceId, IReadOnlyList<(string InstanceId, DeploymentRecord Record)> records, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        foreach (var chunk in records.Chunk(BatchSize))
        {
            var actions = chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(nodeServiceId, r.InstanceId, r.Record)));
            await table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TableEntity ToEntity(string nodeServiceId, string instanceId, DeploymentRecord r)
    {
        var e = new TableEntity(nodeServiceId, instanceId)
        {
            ["version"] = r.Version,
            ["message_id"] = r.MessageId,
            ["sends"] = DeploymentRecord.FormatSends(r.Sends),
        };
        if (r.ScheduledFor is { } due)
        {
            e["scheduled_for"] = due;
        }
        if (r.Handle is { } h)
        {
            e["sequence_number"] = h.SequenceNumber;
            e["queue_message_id"] = h.QueueMessageId;
            e["pop_receipt"] = h.PopReceipt;
        }
        return e;
    }

    private static DeploymentRecord FromEntity(TableEntity e)
    {
        var handle = e.GetInt64("sequence_number") is not null || e.GetString("queue_message_id") is not null
            ? new ScheduledHandle(e.GetInt64("sequence_number"), e.GetString("queue_message_id"), e.GetString("pop_receipt"))
            : null;
        return new DeploymentRecord(e.GetInt32("version") ?? 0, e.GetString("message_id") ?? "", e.GetDateTimeOffset("scheduled_for"), handle,
            DeploymentRecord.ParseSends(e.GetString("sends")));
    }
}
