using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace Pipeline.Storage;

/// <summary>
/// The storage account's three services, created once per process and shared (the SDK clients
/// are thread-safe). Table, container and queue names are the catalog's schema.
/// </summary>
public sealed class PipelineStorage
{
    public const string SnapshotsContainer = "snapshots";

    private readonly TableServiceClient _tables;
    private readonly HashSet<string> _createdTables = [];
    private readonly SemaphoreSlim _createLock = new(1, 1);

    public PipelineStorage(IOptions<StorageOptions> options)
    {
        var o = options.Value;
        if (o.UsesIdentity)
        {
            TokenCredential credential = string.IsNullOrEmpty(o.ClientId)
                ? new DefaultAzureCredential()
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(o.ClientId));
            Blobs = new BlobServiceClient(o.BlobServiceUri, credential);
            Queues = new QueueServiceClient(o.QueueServiceUri, credential);
            _tables = new TableServiceClient(o.TableServiceUri, credential);
        }
        else
        {
            string cs = string.IsNullOrWhiteSpace(o.ConnectionString) ? StorageOptions.LocalDefault : o.ConnectionString;
            Blobs = new BlobServiceClient(cs);
            Queues = new QueueServiceClient(cs);
            _tables = new TableServiceClient(cs);
        }
        Snapshots = Blobs.GetBlobContainerClient(SnapshotsContainer);
    }

    public BlobServiceClient Blobs { get; }

    public QueueServiceClient Queues { get; }

    public BlobContainerClient Snapshots { get; }

    /// <summary>A table client, the table created on first use in this process.</summary>
    public async Task<TableClient> TableAsync(string name, CancellationToken cancellationToken)
    {
        var table = _tables.GetTableClient(name);
        if (!_createdTables.Contains(name))
        {
            await _createLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_createdTables.Add(name))
                {
                    await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                _createLock.Release();
            }
        }
        return table;
    }

    /// <summary>Creates the snapshots container if it is missing (idempotent; called at start-up and by writers).</summary>
    public Task EnsureSnapshotsContainerAsync(CancellationToken cancellationToken) =>
        Snapshots.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
}
