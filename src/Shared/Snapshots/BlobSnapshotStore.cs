using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Azure;
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
/// A blob is written once: bytes are staged as blocks while they stream in, hashed on the way,
/// and the block list is committed with <c>If-None-Match: *</c> only when size and sha256 equal
/// the descriptor. A failed or concurrent write never leaves a committed blob with other bytes.
/// </summary>
public sealed partial class BlobSnapshotStore(PipelineStorage storage, ILogger<BlobSnapshotStore> logger)
{
    /// <summary>Block size for staged uploads; blobs up to this size go up in one request.</summary>
    public const int BlockSizeBytes = 8 * 1024 * 1024;

    /// <summary>Blocks staged concurrently per blob; bounds memory to (this + 1) × block size.</summary>
    public const int MaxBlocksInFlight = 4;

    public static string BlobName(Digest digest) => "sha256/" + digest.Hex;

    public BlockBlobClient Blob(Digest digest) => storage.Snapshots.GetBlockBlobClient(BlobName(digest));

    public async Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken)
    {
        var response = await Blob(digest).ExistsAsync(cancellationToken).ConfigureAwait(false);
        return response.Value;
    }

    /// <summary>
    /// Streams <paramref name="source"/> into <c>sha256/&lt;hex&gt;</c>. Throws
    /// <see cref="DigestMismatchException"/> or a <see cref="PipelineException"/> with
    /// <see cref="ErrorCodes.DigestMismatch"/> when the bytes are not what <paramref name="blob"/> says;
    /// nothing is committed then.
    /// </summary>
    public async Task<BlobWriteOutcome> WriteAsync(Descriptor blob, Stream source, Action<long>? progress, CancellationToken cancellationToken)
    {
        var client = Blob(blob.Digest);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var headers = new BlobHttpHeaders { ContentType = "application/octet-stream" };
        var noOverwrite = new BlobRequestConditions { IfNoneMatch = ETag.All };

        // A blob that fits in one block goes up in one request: half the round trips.
        byte[] first = ArrayPool<byte>.Shared.Rent(BlockSizeBytes);
        try
        {
            int firstLength = await FillAsync(source, first, cancellationToken).ConfigureAwait(false);
            if (firstLength < BlockSizeBytes)
            {
                hash.AppendData(first, 0, firstLength);
                Verify(blob, firstLength, hash);
                progress?.Invoke(firstLength);
                return await CommitAsync(blob, () => client.UploadAsync(
                    new MemoryStream(first, 0, firstLength, writable: false),
                    new BlobUploadOptions { HttpHeaders = headers, Conditions = noOverwrite },
                    cancellationToken)).ConfigureAwait(false);
            }
            return await StageBlocksAsync(blob, client, source, first, hash, headers, noOverwrite, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(first);
        }
    }

    private async Task<BlobWriteOutcome> StageBlocksAsync(
        Descriptor blob, BlockBlobClient client, Stream source, byte[] first, IncrementalHash hash,
        BlobHttpHeaders headers, BlobRequestConditions noOverwrite, Action<long>? progress, CancellationToken cancellationToken)
    {
        // A random prefix per write: two writers of the same digest never overwrite each other's
        // staged blocks, so a writer whose bytes turn out bad cannot poison the other's block list.
        string nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var blockIds = new List<string>();
        var inFlight = new List<Task>();
        var rented = new List<byte[]>();
        long total = 0;
        byte[]? buffer = first;
        int length = BlockSizeBytes;
        try
        {
            while (length > 0)
            {
                hash.AppendData(buffer!, 0, length);
                total += length;
                if (total > blob.Size)
                {
                    throw SizeError(blob, total);
                }
                string id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{nonce}-{blockIds.Count:D8}"));
                blockIds.Add(id);
                var staged = buffer!;
                int stagedLength = length;
                inFlight.Add(StageOneAsync(client, id, staged, stagedLength, progress, cancellationToken));
                if (inFlight.Count >= MaxBlocksInFlight)
                {
                    var done = await Task.WhenAny(inFlight).ConfigureAwait(false);
                    await done.ConfigureAwait(false);
                    inFlight.Remove(done);
                }
                buffer = ArrayPool<byte>.Shared.Rent(BlockSizeBytes);
                rented.Add(buffer);
                length = await FillAsync(source, buffer, cancellationToken).ConfigureAwait(false);
            }
            await Task.WhenAll(inFlight).ConfigureAwait(false);
        }
        finally
        {
            // Buffers go back only once nothing reads them any more.
            try { await Task.WhenAll(inFlight).ConfigureAwait(false); } catch { /* already surfaced above */ }
            foreach (var b in rented)
            {
                ArrayPool<byte>.Shared.Return(b);
            }
        }

        Verify(blob, total, hash);
        return await CommitAsync(blob, () => client.CommitBlockListAsync(
            blockIds,
            new CommitBlockListOptions { HttpHeaders = headers, Conditions = noOverwrite },
            cancellationToken)).ConfigureAwait(false);
    }

    private static async Task StageOneAsync(BlockBlobClient client, string id, byte[] buffer, int length, Action<long>? progress, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(buffer, 0, length, writable: false);
        await client.StageBlockAsync(id, content, cancellationToken: cancellationToken).ConfigureAwait(false);
        progress?.Invoke(length);
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

    private static async Task<int> FillAsync(Stream source, byte[] buffer, CancellationToken cancellationToken)
    {
        int filled = 0;
        while (filled < BlockSizeBytes)
        {
            int n = await source.ReadAsync(buffer.AsMemory(filled, BlockSizeBytes - filled), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            filled += n;
        }
        return filled;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stored blob {Digest} ({Size} bytes)")]
    private static partial void LogStored(ILogger logger, string digest, long size);
}
