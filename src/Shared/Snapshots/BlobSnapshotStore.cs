using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using Pipeline.Oci;
using Pipeline.Storage;

namespace Pipeline.Snapshots;

/// <summary>What a write did: stored the bytes now, or found them already committed.</summary>
public enum BlobWriteOutcome
{
    Stored,
    AlreadyPresent,
}

/// <summary>
/// Content-addressed blob store: container <c>snapshots</c>, blob <c>sha256/&lt;hex&gt;</c>.
/// A blob is written once: its bytes stream from the source straight into staged blocks (each
/// block's request body reads the registry's response as it is sent, so reading and writing
/// overlap and nothing is buffered whole), are hashed on the way, and the block list is committed
/// with <c>If-None-Match: *</c> only when size and sha256 equal the descriptor. A failed or
/// concurrent write never leaves a committed blob with other bytes.
/// </summary>
public sealed partial class BlobSnapshotStore(PipelineStorage storage, ILogger<BlobSnapshotStore> logger)
{
    /// <summary>Blobs up to this size are read into memory, verified, then sent in one request.</summary>
    public const int SmallBlobBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Bytes per staged block of a larger blob. Blocks are sent one after the other, each streaming
    /// from the source, so the size costs no memory; large blocks mean few requests. Azure allows
    /// 4000 MiB a block and 50,000 blocks a blob.
    /// </summary>
    public const long BlockBytes = 64L * 1024 * 1024;

    public static string BlobName(Digest digest) => "sha256/" + digest.Hex;

    public BlockBlobClient Blob(Digest digest) => storage.Snapshots.GetBlockBlobClient(BlobName(digest));

    public async Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken)
    {
        var response = await Blob(digest).ExistsAsync(cancellationToken).ConfigureAwait(false);
        return response.Value;
    }

    /// <summary>
    /// Streams <paramref name="source"/> into <c>sha256/&lt;hex&gt;</c>. Throws
    /// <see cref="DigestMismatchException"/> when the bytes are not what <paramref name="blob"/>
    /// says (another hash, more or fewer bytes); nothing is committed then.
    /// </summary>
    public async Task<BlobWriteOutcome> WriteAsync(Descriptor blob, Stream source, Action<long>? progress, CancellationToken cancellationToken)
    {
        var client = Blob(blob.Digest);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var headers = new BlobHttpHeaders { ContentType = "application/octet-stream" };
        var noOverwrite = new BlobRequestConditions { IfNoneMatch = ETag.All };
        if (blob.Size <= SmallBlobBytes)
        {
            byte[] bytes = await ReadSmallAsync(blob, source, cancellationToken).ConfigureAwait(false);
            hash.AppendData(bytes);
            Verify(blob, bytes.Length, hash);
            progress?.Invoke(bytes.Length);
            return await CommitAsync(blob, () => client.UploadAsync(
                new MemoryStream(bytes, writable: false),
                new BlobUploadOptions { HttpHeaders = headers, Conditions = noOverwrite, TransferValidation = NoChecksum },
                cancellationToken)).ConfigureAwait(false);
        }

        // A random prefix per write: two writers of the same digest never overwrite each other's
        // staged blocks, so a writer whose bytes turn out bad cannot poison the other's block list.
        string nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var blockIds = new List<string>();
        for (long offset = 0; offset < blob.Size; offset += BlockBytes)
        {
            string id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{nonce}-{blockIds.Count:D8}"));
            var body = new BlockSourceStream(source, Math.Min(BlockBytes, blob.Size - offset), hash, progress);
            await client.StageBlockAsync(id, body, new BlockBlobStageBlockOptions { TransferValidation = NoChecksum }, cancellationToken).ConfigureAwait(false);
            blockIds.Add(id);
        }
        // The source must end exactly here: one more byte is a blob longer than its descriptor.
        if (await source.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) > 0)
        {
            throw SizeError(blob, blob.Size + 1);
        }
        Verify(blob, blob.Size, hash);
        return await CommitAsync(blob, () => client.CommitBlockListAsync(
            blockIds,
            new CommitBlockListOptions { HttpHeaders = headers, Conditions = noOverwrite },
            cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>No extra checksum pass: the sha256 is verified here, and a checksum would need the body twice.</summary>
    private static readonly UploadTransferValidationOptions NoChecksum = new() { ChecksumAlgorithm = StorageChecksumAlgorithm.None };

    private static async Task<byte[]> ReadSmallAsync(Descriptor blob, Stream source, CancellationToken cancellationToken)
    {
        // One byte of room past the declared size, to see a blob that is longer than it says.
        byte[] buffer = new byte[blob.Size + 1];
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = await source.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            filled += n;
        }
        if (filled > blob.Size)
        {
            throw SizeError(blob, filled);
        }
        return buffer[..filled];
    }

    private async Task<BlobWriteOutcome> CommitAsync(Descriptor blob, Func<Task> commit)
    {
        try
        {
            await commit().ConfigureAwait(false);
            LogStored(logger, blob.Digest.ToString(), blob.Size);
            return BlobWriteOutcome.Stored;
        }
        catch (RequestFailedException e) when (e.Status == 409 || e.ErrorCode == BlobErrorCode.BlobAlreadyExists)
        {
            // Another writer committed the same digest first; its bytes were verified the same way.
            return BlobWriteOutcome.AlreadyPresent;
        }
    }

    private static void Verify(Descriptor blob, long total, IncrementalHash hash)
    {
        if (total != blob.Size)
        {
            throw SizeError(blob, total);
        }
        var actual = Digest.FromHash(hash.GetCurrentHash());
        if (actual != blob.Digest)
        {
            throw new DigestMismatchException($"Blob {blob.Digest} hashed to {actual}; nothing was stored.");
        }
    }

    private static DigestMismatchException SizeError(Descriptor blob, long seen) =>
        new($"Blob {blob.Digest} should be {blob.Size} bytes but {(seen > blob.Size ? "more" : seen.ToString(System.Globalization.CultureInfo.InvariantCulture))} arrived; nothing was stored.");

    [LoggerMessage(Level = LogLevel.Information, Message = "Stored blob {Digest} ({Size} bytes)")]
    private static partial void LogStored(ILogger logger, string digest, long size);
}
