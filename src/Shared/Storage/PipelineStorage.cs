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

    /// <summary>Storage reached through clients made elsewhere (tests: a token credential on an HTTPS Azurite).</summary>
    internal PipelineStorage((BlobServiceClient Blobs, QueueServiceClient Queues, TableServiceClient Tables) clients)
    {
        (Blobs, Queues, _tables) = clients;
        Snapshots = Blobs.GetBlobContainerClient(SnapshotsContainer);
        SnapshotUploads = Snapshots;
    }

    public PipelineStorage(IOptions<StorageOptions> options)
        : this(Clients(options.Value))
    {
    }

    private PipelineStorage((BlobServiceClient Blobs, QueueServiceClient Queues, TableServiceClient Tables, BlobServiceClient Uploads) clients)
        : this((clients.Blobs, clients.Queues, clients.Tables))
    {
        SnapshotUploads = clients.Uploads.GetBlobContainerClient(SnapshotsContainer);
    }

    private static (BlobServiceClient, QueueServiceClient, TableServiceClient, BlobServiceClient) Clients(StorageOptions o)
    {
        if (o.UsesIdentity)
        {
            TokenCredential credential = string.IsNullOrEmpty(o.ClientId)
                ? new DefaultAzureCredential()
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(o.ClientId));
            return (new BlobServiceClient(o.BlobServiceUri, credential), new QueueServiceClient(o.QueueServiceUri, credential), new TableServiceClient(o.TableServiceUri, credential),
                new BlobServiceClient(o.BlobServiceUri, credential, UploadOptions()));
        }
        string cs = string.IsNullOrWhiteSpace(o.ConnectionString) ? StorageOptions.LocalDefault : o.ConnectionString;
        return (new BlobServiceClient(cs), new QueueServiceClient(cs), new TableServiceClient(cs), new BlobServiceClient(cs, UploadOptions()));
    }

    /// <summary>
    /// Options of the client that streams layers from a registry into one request each: no
    /// retries (a body already sent cannot be sent again; the caller reopens the source instead)
    /// and a network timeout sized for a layer that arrives at a registry's pace, not 100 s.
    /// </summary>
    private static BlobClientOptions UploadOptions()
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = TimeSpan.FromHours(1);
        return options;
    }

    public BlobServiceClient Blobs { get; }

    public QueueServiceClient Queues { get; }

    public BlobContainerClient Snapshots { get; }

    /// <summary>The snapshots container through a client for streamed, single-request layer uploads (see <see cref="UploadOptions"/>).</summary>
    public BlobContainerClient SnapshotUploads { get; }

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
