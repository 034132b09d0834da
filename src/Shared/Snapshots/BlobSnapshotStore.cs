using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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
/// A blob is written once, and never appears under its digest with bytes other than the
/// descriptor's. A layer is streamed from the source into one Put Blob, its last byte held back
/// until size and sha256 match (<see cref="WithheldTailStream"/>). A layer larger than
/// <see cref="SnapshotOptions.StreamedUploadMaxMiB"/> (at most a single request's limit) is read
/// one block at a time into a bounded pool of buffers, hashed, and staged with its Content-MD5
/// while the next block is read, and its block list is committed only when size and sha256 match.
/// No blob is ever held whole. Small blobs (configs) are read whole and sent with their
/// Content-MD5. Every commit carries <c>If-None-Match: *</c>; a failed or concurrent write never
/// leaves a committed blob with other bytes.
/// </summary>
public sealed partial class BlobSnapshotStore : IDisposable
{
    /// <summary>Blobs up to this size are read into a buffer of their own rather than a pooled block.</summary>
    private const int TinyBlobBytes = 1024 * 1024;

    private readonly PipelineStorage _storage;
    private readonly ILogger<BlobSnapshotStore> _logger;
    private readonly BlockBufferPool _buffers;
    private readonly int _inFlightPerBlob;
    private readonly long _streamedUploadMaxBytes;

    public BlobSnapshotStore(PipelineStorage storage, IOptions<SnapshotOptions> options, ILogger<BlobSnapshotStore> logger)
    {
        var o = options.Value;
        // The host refuses these at start; a store built by hand is held to the same rule.
        if (new SnapshotOptionsValidator().Validate(null, o) is { Failed: true } invalid)
        {
            throw new ArgumentOutOfRangeException(nameof(options), invalid.FailureMessage);
        }
        _storage = storage;
        _logger = logger;
        _buffers = new BlockBufferPool(o.BlockBytes, o.MaxBufferedBlocks);
        _inFlightPerBlob = Math.Min(o.BlocksInFlightPerBlob, o.MaxBufferedBlocks);
        _streamedUploadMaxBytes = o.StreamedUploadMaxMiB * 1024L * 1024;
    }

    /// <summary>Bytes per staged block.</summary>
    public int BlockBytes => _buffers.BufferBytes;

    public static string BlobName(Digest digest) => "sha256/" + digest.Hex;

    public BlockBlobClient Blob(Digest digest) => _storage.Snapshots.GetBlockBlobClient(BlobName(digest));

    public async Task<bool> ExistsAsync(Digest digest, CancellationToken cancellationToken)
    {
        var response = await Blob(digest).ExistsAsync(cancellationToken).ConfigureAwait(false);
        return response.Value;
    }

    /// <summary>
    /// Streams <paramref name="source"/> into <c>sha256/&lt;hex&gt;</c>. Throws
    /// <see cref="DigestMismatchException"/> when the bytes are not what <paramref name="blob"/>
    /// says (another hash, more or fewer bytes); nothing is committed then.
    /// <paramref name="progress"/> is told of bytes as they are read from the source.
    /// </summary>
    public Task<BlobWriteOutcome> WriteAsync(Descriptor blob, Stream source, Action<long>? progress, CancellationToken cancellationToken) =>
        blob.Size <= TinyBlobBytes ? WriteOneShotAsync(blob, source, progress, cancellationToken)
        : blob.Size <= _streamedUploadMaxBytes ? WriteStreamedAsync(blob, source, progress, cancellationToken)
        : blob.Size <= BlockBytes ? WriteOneShotAsync(blob, source, progress, cancellationToken)
        : WriteStagedAsync(blob, source, progress, cancellationToken);

    /// <summary>
    /// A layer streamed from the source into one Put Blob whose last byte is released only after
    /// size and sha256 match. A failure of the source or of the check is thrown as itself; the
    /// request then ends a byte short and the service stores nothing.
    /// </summary>
    private async Task<BlobWriteOutcome> WriteStreamedAsync(Descriptor blob, Stream source, Action<long>? progress, CancellationToken cancellationToken)
    {
        var outcome = await WriteStreamedAsync(_storage.SnapshotUploads.GetBlockBlobClient(BlobName(blob.Digest)), blob, source, progress, cancellationToken).ConfigureAwait(false);
        if (outcome == BlobWriteOutcome.Stored)
        {
            LogStored(_logger, blob.Digest.ToString(), blob.Size);
        }
        return outcome;
    }

    private async Task<BlobWriteOutcome> WriteStreamedAsync(BlockBlobClient target, Descriptor blob, Stream source, Action<long>? progress, CancellationToken cancellationToken)
    {
        await using var body = new WithheldTailStream(source, blob, progress);
        try
        {
            await target.UploadAsync(
                body,
                new BlobUploadOptions
                {
                    HttpHeaders = Headers(),
                    Conditions = NoOverwrite,
                    // One Put Blob whatever the size: the SDK sends a body in one request only when
                    // it is strictly shorter than InitialTransferSize. At equal size it would stage
                    // the whole body as a block without checksum and commit it, a request the
                    // service checks with a CRC64 of its own (on Azurite, in JavaScript: three times
                    // the import's time) and a blob left without its Content-MD5.
                    TransferOptions = new StorageTransferOptions { InitialTransferSize = blob.Size + 1, MaximumTransferSize = blob.Size, MaximumConcurrency = 1 },
                    TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.None },
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (body.Failure is { } failure && failure is not OperationCanceledException && !ReferenceEquals(e, failure))
        {
            // The transport wraps what the body threw; the caller should see the source's error
            // (a dropped registry, a digest mismatch) with its own type and code.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            throw;
        }
        catch (RequestFailedException e) when (IsAlreadyPresent(e))
        {
            // Another writer committed the same digest first; its bytes were verified the same way.
            return BlobWriteOutcome.AlreadyPresent;
        }
        return BlobWriteOutcome.Stored;
    }

    /// <summary>
    /// Sends <paramref name="source"/> by the streamed path a layer takes, verified the same way,
    /// to a throwaway blob outside <c>sha256/</c> (<c>warmup/&lt;hex&gt;</c>), and deletes it. A process
    /// that has just started runs this once so that its first import does not compile and
    /// initialise that path while a layer waits.
    /// </summary>
    public async Task WarmUpStreamedWriteAsync(Stream source, Descriptor blob, Action<long>? progress, CancellationToken cancellationToken)
    {
        var target = _storage.SnapshotUploads.GetBlockBlobClient("warmup/" + blob.Digest.Hex);
        try
        {
            await WriteStreamedAsync(target, blob, source, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await target.DeleteIfExistsAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static bool IsAlreadyPresent(RequestFailedException e) =>
        e.Status is 409 or 412 || e.ErrorCode == BlobErrorCode.BlobAlreadyExists || e.ErrorCode == BlobErrorCode.ConditionNotMet;

    private static BlobHttpHeaders Headers(byte[]? contentMd5 = null) => new() { ContentType = "application/octet-stream", ContentHash = contentMd5 };

    private static BlobRequestConditions NoOverwrite => new() { IfNoneMatch = ETag.All };

    /// <summary>A blob of at most one block: read, verified, then sent in one Put Blob.</summary>
    private async Task<BlobWriteOutcome> WriteOneShotAsync(Descriptor blob, Stream source, Action<long>? progress, CancellationToken cancellationToken)
    {
        int size = (int)blob.Size;
        bool pooled = size > TinyBlobBytes;
        byte[] buffer = pooled ? await _buffers.RentAsync(cancellationToken).ConfigureAwait(false) : new byte[size];
        try
        {
            int n = await source.ReadAtLeastAsync(buffer.AsMemory(0, size), size, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            progress?.Invoke(n);
            await EnsureEndedAsync(blob, source, n, cancellationToken).ConfigureAwait(false);
            if (SelfVerifying(blob, source)?.Verified != true)
            {
                Verify(blob, SHA256.HashData(buffer.AsSpan(0, size)));
            }
            return await CommitAsync(blob, () => Blob(blob.Digest).UploadAsync(
                new MemoryStream(buffer, 0, size, writable: false),
                new BlobUploadOptions
                {
                    // On Put Blob the service checks the body against x-ms-blob-content-md5 and keeps
                    // it as the blob's Content-MD5 (a precalculated transfer checksum is refused here).
                    HttpHeaders = Headers(ContentMd5.Of(buffer.AsSpan(0, size))),
                    Conditions = NoOverwrite,
                    TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.None },
                },
                cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            if (pooled)
            {
                _buffers.Return(buffer);
            }
        }
    }

    /// <summary>A larger blob: blocks are read in turn and staged with up to a few in flight, then committed.</summary>
    private async Task<BlobWriteOutcome> WriteStagedAsync(Descriptor blob, Stream source, Action<long>? progress, CancellationToken cancellationToken)
    {
        var client = Blob(blob.Digest);
        var selfVerifying = SelfVerifying(blob, source);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A random prefix per write: two writers of the same digest never overwrite each other's
        // staged blocks, so a writer whose bytes turn out bad cannot poison the other's block list.
        string nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var blockIds = new List<string>();
        var inFlight = new List<Task>();
        try
        {
            long read = 0;
            while (read < blob.Size)
            {
                while (inFlight.Count >= _inFlightPerBlob)
                {
                    var done = await Task.WhenAny(inFlight).ConfigureAwait(false);
                    inFlight.Remove(done);
                    await done.ConfigureAwait(false);
                }
                byte[] buffer = await _buffers.RentAsync(stop.Token).ConfigureAwait(false);
                int length = (int)Math.Min(BlockBytes, blob.Size - read);
                try
                {
                    int n = await source.ReadAtLeastAsync(buffer.AsMemory(0, length), length, throwOnEndOfStream: false, stop.Token).ConfigureAwait(false);
                    if (n < length)
                    {
                        throw SizeError(blob, read + n);
                    }
                }
                catch
                {
                    _buffers.Return(buffer);
                    throw;
                }
                if (selfVerifying is null)
                {
                    hash.AppendData(buffer, 0, length);
                }
                read += length;
                progress?.Invoke(length);
                string id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{nonce}-{blockIds.Count:D8}"));
                blockIds.Add(id);
                inFlight.Add(StageAsync(client, id, buffer, length, stop.Token));
            }
            await EnsureEndedAsync(blob, source, read, stop.Token).ConfigureAwait(false);
            await Task.WhenAll(inFlight).ConfigureAwait(false);
            inFlight.Clear();
        }
        catch
        {
            // Let every staged request end before the buffers can be reused; what they staged
            // stays uncommitted and is collected by the service.
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(inFlight).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }
        if (selfVerifying?.Verified != true)
        {
            Verify(blob, hash.GetCurrentHash());
        }
        return await CommitAsync(blob, () => client.CommitBlockListAsync(
            blockIds,
            new CommitBlockListOptions { HttpHeaders = Headers(), Conditions = NoOverwrite },
            cancellationToken)).ConfigureAwait(false);
    }

    private Task StageAsync(BlockBlobClient client, string id, byte[] buffer, int length, CancellationToken cancellationToken) => Task.Run(async () =>
    {
        try
        {
            await client.StageBlockAsync(
                id,
                new MemoryStream(buffer, 0, length, writable: false),
                ContentMd5.StageBlockOptions(buffer.AsSpan(0, length)),
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _buffers.Return(buffer);
        }
    }, CancellationToken.None);

    /// <summary>The source must hold exactly the declared size: fewer bytes, or one more, is an error.</summary>
    private static async Task EnsureEndedAsync(Descriptor blob, Stream source, long read, CancellationToken cancellationToken)
    {
        if (read < blob.Size)
        {
            throw SizeError(blob, read);
        }
        if (await source.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) > 0)
        {
            throw SizeError(blob, blob.Size + 1);
        }
    }

    /// <summary>
    /// The source, when it checks this very descriptor itself as it is read: once read to its end
    /// and <see cref="IVerifiedBlobSource.Verified"/>, its bytes are not hashed here a second time.
    /// A source that does not verify, or verifies another descriptor, is hashed here.
    /// </summary>
    private static IVerifiedBlobSource? SelfVerifying(Descriptor blob, Stream source) =>
        source is IVerifiedBlobSource v && v.Expected == blob.Digest && v.Size == blob.Size ? v : null;

    public void Dispose() => _buffers.Dispose();

    private async Task<BlobWriteOutcome> CommitAsync(Descriptor blob, Func<Task> commit)
    {
        try
        {
            await commit().ConfigureAwait(false);
            LogStored(_logger, blob.Digest.ToString(), blob.Size);
            return BlobWriteOutcome.Stored;
        }
        catch (RequestFailedException e) when (IsAlreadyPresent(e))
        {
            // Another writer committed the same digest first; its bytes were verified the same way.
            return BlobWriteOutcome.AlreadyPresent;
        }
    }

    private static void Verify(Descriptor blob, byte[] sha256)
    {
        var actual = Digest.FromHash(sha256);
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
