using Azure;
using Azure.Data.Tables;
using Pipeline.Oci;
using Pipeline.Storage;

namespace Pipeline.Imports;

/// <summary>
/// Import records (table <c>imports</c>: partition = import id). Row <c>import</c> holds the
/// state; one row per blob (<c>blob:&lt;hex&gt;</c>) holds its progress, so activities copying
/// different blobs in parallel never write the same row.
/// </summary>
public sealed class ImportStore(PipelineStorage storage)
{
    public const string Table = "imports";
    /// <summary>The row key of an import's own row (status, version, error); its blobs' progress rows sit beside it.</summary>
    public const string MainRow = "import";
    private const string BlobRowPrefix = "blob:";

    public async Task CreateAsync(string importId, string customerId, string nodeServiceId, string name, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        await table.AddEntityAsync(new TableEntity(importId, MainRow)
        {
            ["customer_id"] = customerId,
            ["node_service_id"] = nodeServiceId,
            ["name"] = name,
            ["status"] = ImportStatus.Pending,
            ["created"] = DateTimeOffset.UtcNow,
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task MarkRunningAsync(string importId, CancellationToken cancellationToken) =>
        MergeAsync(importId, new TableEntity(importId, MainRow) { ["status"] = ImportStatus.Running }, onlyIfNotTerminal: true, cancellationToken);

    public Task CompleteAsync(string importId, int version, IReadOnlyList<string> warnings, long bytesFetched, CancellationToken cancellationToken) =>
        MergeAsync(importId, new TableEntity(importId, MainRow)
        {
            ["status"] = ImportStatus.Completed,
            ["container_version"] = version,
            ["warnings"] = string.Join('\n', warnings),
            ["bytes_fetched"] = bytesFetched,
        }, onlyIfNotTerminal: false, cancellationToken);

    public Task FailAsync(string importId, string code, string message, CancellationToken cancellationToken) =>
        MergeAsync(importId, new TableEntity(importId, MainRow)
        {
            ["status"] = ImportStatus.Failed,
            ["error_code"] = code,
            ["error_message"] = message.Length > 2000 ? message[..2000] : message,
        }, onlyIfNotTerminal: true, cancellationToken);

    /// <summary>Records the blobs the import will copy, with nothing done yet.</summary>
    public Task RecordBlobsAsync(string importId, IEnumerable<Descriptor> blobs, CancellationToken cancellationToken) =>
        RecordBlobsAsync(importId, blobs, done: false, cancellationToken);

    /// <summary>Records the blobs an import needs; <paramref name="done"/> when they are already stored.</summary>
    public async Task RecordBlobsAsync(string importId, IEnumerable<Descriptor> blobs, bool done, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var actions = blobs.Select(b => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(importId, BlobRowPrefix + b.Digest.Hex)
        {
            ["size"] = b.Size,
            ["bytes_done"] = done ? b.Size : 0L,
        })).ToList();
        // A batch holds at most 100 operations of one partition.
        foreach (var chunk in actions.Chunk(100))
        {
            await table.SubmitTransactionAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task ReportBlobProgressAsync(string importId, Digest digest, long bytesDone, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        await table.UpsertEntityAsync(new TableEntity(importId, BlobRowPrefix + digest.Hex) { ["bytes_done"] = bytesDone }, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes every row of an import (LocalHost's start-up warm-up removes its own this way).</summary>
    public async Task DeleteAsync(string importId, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var e in table.QueryPartitionAsync(importId, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            await table.DeleteEntityAsync(importId, e.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<ImportView?> GetAsync(string importId, CancellationToken cancellationToken)
    {
        if (!Ids.IsSafeKey(importId))
        {
            return null;
        }
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        TableEntity? main = null;
        var layers = new List<LayerProgress>();
        DateTimeOffset? lastChange = null;
        await foreach (var e in table.QueryPartitionAsync(importId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (e.Timestamp > lastChange || lastChange is null)
            {
                lastChange = e.Timestamp;
            }
            if (e.RowKey == MainRow)
            {
                main = e;
            }
            else if (e.RowKey.StartsWith(BlobRowPrefix, StringComparison.Ordinal) && Digest.TryParse("sha256:" + e.RowKey[BlobRowPrefix.Length..], out var d))
            {
                layers.Add(new LayerProgress(d, e.GetInt64("size") ?? 0, e.GetInt64("bytes_done") ?? 0));
            }
        }
        if (main is null)
        {
            return null;
        }
        return new ImportView(
            importId,
            main.GetString("customer_id") ?? "",
            main.GetString("node_service_id") ?? "",
            main.GetString("name") ?? "",
            main.GetString("status") ?? ImportStatus.Pending,
            main.GetInt32("container_version"),
            layers,
            (main.GetString("warnings") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries),
            main.GetString("error_code"),
            main.GetString("error_message"))
        {
            BytesFetched = main.GetInt64("bytes_fetched"),
            LastChange = lastChange,
        };
    }

    private async Task MergeAsync(string importId, TableEntity patch, bool onlyIfNotTerminal, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        for (int attempt = 0; ; attempt++)
        {
            var current = await table.GetEntityAsync<TableEntity>(importId, MainRow, cancellationToken: cancellationToken).ConfigureAwait(false);
            // An activity run again after a crash must not move a finished import back.
            if (onlyIfNotTerminal && ImportStatus.IsTerminal(current.Value.GetString("status") ?? ""))
            {
                return;
            }
            try
            {
                await table.UpdateEntityAsync(patch, current.Value.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException e) when (e.Status == 412 && attempt < 5)
            {
            }
        }
    }

    private Task<TableClient> TableAsync(CancellationToken cancellationToken) => storage.TableAsync(Table, cancellationToken);
}
