using Azure.Data.Tables;
using Pipeline.Oci;
using Pipeline.Storage;

namespace Pipeline.Snapshots;

/// <summary>
/// Which customer has proven access to which stored blob (table <c>blobowners</c>: partition =
/// customer id, row = digest hex). A blob stored for one customer is linked to another only
/// after that customer's own registry serves it, so a digest alone never opens another
/// tenant's layer.
/// </summary>
public sealed class BlobOwnershipStore(PipelineStorage storage)
{
    public const string Table = "blobowners";

    public async Task<bool> HasAsync(string customerId, Digest digest, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(customerId, digest.Hex, select: ["PartitionKey"], cancellationToken).ConfigureAwait(false);
        return row.HasValue;
    }

    public async Task AddAsync(string customerId, Digest digest, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        await table.UpsertEntityAsync(new TableEntity(customerId, digest.Hex), TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
    }
}
