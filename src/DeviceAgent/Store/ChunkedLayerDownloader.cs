using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using DeviceAgent.Api;
using DeviceAgent.Progress;
using Pipeline.Chunking;
using ZstdSharp;

namespace DeviceAgent.Store;

/// <summary>
/// Brings a layer as a chunk delta (the plan's <c>chunks</c>): the index, headers stream and pack
/// table (each verified by its digest, kept in <c>partial/&lt;hex&gt;.chunks/</c> so a restart does
/// not fetch them again); the index entries whose chunk the seed store lacks, fetched from the pack
/// with one <c>Range</c> request per run of neighbouring entries, each chunk verified by its id and
/// stored at once (a cut request resumes at the first chunk not stored; a restarted agent finds the
/// stored ones); then the tar rebuilt from headers and seeds, streaming, its sha256 checked against
/// the <c>diff_id</c>, and committed uncompressed as <c>layers/sha256/&lt;hex&gt;/layer.tar</c>.
/// Anything about the delta that cannot be trusted throws <see cref="ChunkFallbackException"/>
/// after deleting what the delta produced; the caller then downloads the whole layer.
/// </summary>
internal sealed class ChunkedLayerDownloader(HttpClient http, ContentStore store, DownloadPolicy policy)
{
    /// <summary>The largest index, headers stream or pack table accepted (a 1 TiB layer's index is about 640 MiB; devices hold far less).</summary>
    public const long MaxSmallFileBytes = 256L * 1024 * 1024;

    private const string TableName = "pack_table";

    public async Task<DownloadRecord> DownloadAsync(PlanBlob blob, IBlobProgress progress, CancellationToken cancellationToken)
    {
        var digest = BlobDigest.Parse(blob.Digest);
        var chunks = blob.Chunks ?? throw new ArgumentException("The blob has no chunks.", nameof(blob));
        if (store.Has(digest))
        {
            progress.Completed(0);
            return new DownloadRecord(blob.Digest, blob.Size, 0, 0, 0, 0, true, DownloadRecord.Chunks);
        }
        var transfer = new Transfer(progress);
        string work = store.Layers.WorkDirectory(digest);
        try
        {
            var diffId = Check(chunks);
            Directory.CreateDirectory(work);
            string indexPath = await FetchFileAsync(chunks.Index, Path.Combine(work, LayerStore.IndexName), "index", transfer, cancellationToken).ConfigureAwait(false);
            string headersPath = await FetchFileAsync(chunks.Headers, Path.Combine(work, LayerStore.HeadersName), "headers stream", transfer, cancellationToken).ConfigureAwait(false);
            string tablePath = await FetchFileAsync(chunks.PackTable, Path.Combine(work, TableName), "pack table", transfer, cancellationToken).ConfigureAwait(false);

            CaibxIndex index;
            await using (var file = File.OpenRead(indexPath))
            {
                // Contents are at most the tar, and every chunk but the last is at least the contract's minimum:
                // an index with more entries is refused before it can take the device's memory.
                int maxEntries = (int)Math.Min(CaibxReader.DefaultMaxEntries, (chunks.TarSize / ChunkSizes.Default.Min) + 2);
                index = await CaibxReader.ReadAsync(file, maxEntries, cancellationToken).ConfigureAwait(false);
            }
            var pack = PackTable.Read(await File.ReadAllBytesAsync(tablePath, cancellationToken).ConfigureAwait(false), index, chunks.Pack.Size);

            var (runs, missing) = MissingRuns(index);
            foreach (var run in runs)
            {
                await FetchRunAsync(chunks.Pack.Url, index, pack, run, transfer, cancellationToken).ConfigureAwait(false);
            }

            await RebuildAsync(work, headersPath, index, chunks.TarSize, diffId, cancellationToken).ConfigureAwait(false);
            File.Delete(tablePath);
            store.Layers.Commit(digest, work, new LayerInfo(blob.Digest, blob.MediaType, diffId.ToString(), chunks.TarSize, LayerInfo.HeldAsTar, DateTimeOffset.UtcNow));
            progress.Completed(transfer.Bytes);
            return new DownloadRecord(blob.Digest, blob.Size, 0, transfer.Bytes, transfer.Requests, 0, true, DownloadRecord.Chunks,
                ChunksFetched: missing, ChunksReused: index.Entries.Count - missing);
        }
        catch (Exception e) when (Untrusted(e))
        {
            LayerStore.DeleteFolder(work);
            if (e is ChunkVerificationException bad && !transfer.Fetched.Contains(bad.Expected))
            {
                // A seed that went bad on the disk: gone, so it is fetched again next time.
                File.Delete(store.Layers.Seeds.PathOf(bad.Expected));
            }
            throw new ChunkFallbackException(e.Message, transfer.Bytes, e);
        }
        catch (DiskFullException)
        {
            // The running version needs the room more than half a rebuild does.
            LayerStore.DeleteFolder(work);
            throw;
        }
    }

    /// <summary>What makes the delta unusable, as opposed to a link that failed (retried next round) or a full disk.</summary>
    private static bool Untrusted(Exception e) =>
        e is ChunkFallbackException or CaibxFormatException or TarRebuildException or ChunkVerificationException or ZstdException or InvalidDataException
            // A seed that vanished between the count of missing chunks and the rebuild.
            or FileNotFoundException;

    /// <summary>The plan's chunk fields, checked before any is used: digests, sizes, the <c>diff_id</c>.</summary>
    private static BlobDigest Check(PlanChunks chunks)
    {
        foreach (var (name, file) in new[] { ("index", chunks.Index), ("headers", chunks.Headers), ("pack_table", chunks.PackTable) })
        {
            if (file is null || !BlobDigest.TryParse(file.Digest, out _) || file.Size is < 0 or > MaxSmallFileBytes || string.IsNullOrEmpty(file.Url))
            {
                throw new ChunkFallbackException($"the plan's chunks.{name} is not a digest, size and URL the agent accepts", 0);
            }
        }
        if (chunks.Pack is null || chunks.Pack.Size < 0 || string.IsNullOrEmpty(chunks.Pack.Url) || chunks.TarSize < 0)
        {
            throw new ChunkFallbackException("the plan's chunks.pack or tar_size is not usable", 0);
        }
        return BlobDigest.TryParse(chunks.DiffId, out var diffId) ? diffId.Value : throw new ChunkFallbackException($"the plan's diff_id '{chunks.DiffId}' is not a sha256 digest", 0);
    }

    /// <summary>
    /// Runs of neighbouring index entries whose chunk the seeds lack (a chunk named twice is
    /// fetched once: the later entry is read from the seeds), and how many entries are fetched.
    /// </summary>
    private (List<(int First, int Last)> Runs, int Missing) MissingRuns(CaibxIndex index)
    {
        var runs = new List<(int First, int Last)>();
        var planned = new HashSet<ChunkId>();
        int missing = 0;
        for (int k = 0; k < index.Entries.Count; k++)
        {
            var id = index.Entries[k].Id;
            if (store.Layers.Seeds.Contains(id) || !planned.Add(id))
            {
                continue;
            }
            missing++;
            if (runs.Count > 0 && runs[^1].Last == k - 1)
            {
                runs[^1] = (runs[^1].First, k);
            }
            else
            {
                runs.Add((k, k));
            }
        }
        return (runs, missing);
    }

    /// <summary>
    /// One run of the pack, retried from its first chunk not yet stored after a dropped or stalled
    /// link, until <see cref="DownloadPolicy.MaxAttempts"/> tries in a row make no headway.
    /// </summary>
    private async Task FetchRunAsync(string url, CaibxIndex index, PackTable pack, (int First, int Last) run, Transfer transfer, CancellationToken cancellationToken)
    {
        int failuresInARow = 0;
        while (true)
        {
            int first = run.First;
            while (first <= run.Last && store.Layers.Seeds.Contains(index.Entries[first].Id))
            {
                first++;
            }
            if (first > run.Last)
            {
                return;
            }
            long before = transfer.Bytes;
            try
            {
                await FetchFramesAsync(url, index, pack, first, run.Last, transfer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsLinkFailure(e, cancellationToken))
            {
                failuresInARow = DownloadPolicy.FailuresInARow(failuresInARow, transfer.Bytes - before);
                if (failuresInARow >= policy.MaxAttempts)
                {
                    throw new BlobDownloadException(
                        $"the chunk pack failed {failuresInARow} times in a row ({e.Message}); the chunks already fetched are kept and the next round goes on from there.",
                        transient: true, e);
                }
                await Task.Delay(policy.Backoff(failuresInARow), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One <c>Range</c> request for entries <paramref name="first"/>..<paramref name="last"/>; each frame verified and stored as it arrives.</summary>
    private async Task FetchFramesAsync(string url, CaibxIndex index, PackTable pack, int first, int last, Transfer transfer, CancellationToken cancellationToken)
    {
        long from = pack.Offset(first), to = pack.Offset(last + 1) - 1;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(from, to);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(policy.StallTimeout);
        transfer.Requests++;
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
        switch (response.StatusCode)
        {
            case HttpStatusCode.Forbidden:
                throw new UrlExpiredException("the chunk pack URL was refused (403): it expired; asking for a new plan.");
            case HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError:
                throw new IOException($"the chunk pack answered {(int)response.StatusCode}");
            case HttpStatusCode.PartialContent when response.Content.Headers.ContentRange is { HasRange: true } range && range.From == from:
                break;
            case HttpStatusCode.OK when from == 0:
                // The whole pack from byte 0: the same bytes, read only as far as this run goes.
                break;
            default:
                throw new ChunkFallbackException($"the chunk pack did not answer bytes {from}-{to} (it answered {(int)response.StatusCode}, {response.Content.Headers.ContentRange?.ToString() ?? "no Content-Range"})", 0);
        }

        await using var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
        byte[] frame = ArrayPool<byte>.Shared.Rent(pack.MaxFrame);
        byte[] chunk = ArrayPool<byte>.Shared.Rent(index.Sizes.Max);
        using var codec = new ChunkCodec();
        try
        {
            for (int k = first; k <= last; k++)
            {
                int length = pack.Length(k);
                int have = 0;
                while (have < length)
                {
                    int n = await policy.ReadAsync(body, frame.AsMemory(have, length - have), stall, "of the chunk pack ", cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new IOException($"the chunk pack closed {length - have} bytes before the end of chunk {k}");
                    }
                    have += n;
                    transfer.Add(n);
                }
                var entry = index.Entries[k];
                int size = codec.DecompressVerified(frame.AsSpan(0, length), entry.Id, chunk.AsSpan(0, index.Sizes.Max));
                if (size != entry.Length)
                {
                    throw new ChunkVerificationException(entry.Id, $"it is {size} bytes; the index says {entry.Length}.");
                }
                transfer.Fetched.Add(entry.Id);
                await store.Layers.Seeds.PutCompressedAsync(entry.Id, frame.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (IOException e) when (DiskSpace.IsDiskFull(e))
        {
            throw new DiskFullException($"not enough disk space for the layer's chunks: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>Rebuilds <c>layer.tar</c> in the work folder from the headers and the seeds; its sha256 must be the <c>diff_id</c>.</summary>
    private async Task RebuildAsync(string work, string headersPath, CaibxIndex index, long tarSize, BlobDigest diffId, CancellationToken cancellationToken)
    {
        string tarPath = Path.Combine(work, LayerStore.TarName);
        try
        {
            TarRebuildResult result;
            await using (var headersFile = File.OpenRead(headersPath))
            await using (var headers = new DecompressionStream(headersFile))
            await using (var contents = new SeedContentsStream(store.Layers.Seeds, index))
            await using (var file = new FileStream(tarPath, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                var output = new BoundedWriteStream(file, tarSize);
                result = await TarRebuild.RebuildAsync(headers, contents, output, Convert.FromHexString(diffId.Hex), cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            if (result.TarLength != tarSize)
            {
                throw new TarRebuildException($"The rebuilt tar is {result.TarLength} bytes; the plan says {tarSize}.");
            }
        }
        catch (IOException e) when (DiskSpace.IsDiskFull(e))
        {
            throw new DiskFullException($"not enough disk space to rebuild the layer: {e.Message}", e);
        }
    }

    /// <summary>
    /// A small file of the delta at <paramref name="path"/>: the one a previous try left there if it
    /// still verifies, or downloaded again. A digest or size that does not match is a bad delta.
    /// </summary>
    private async Task<string> FetchFileAsync(ChunkFile file, string path, string what, Transfer transfer, CancellationToken cancellationToken)
    {
        var digest = BlobDigest.Parse(file.Digest);
        if (File.Exists(path) && new FileInfo(path).Length == file.Size && await ContentStore.HashFileAsync(path, cancellationToken).ConfigureAwait(false) == digest)
        {
            return path;
        }
        string temporary = path + ".tmp";
        for (int attempt = 1; ; attempt++)
        {
            long before = transfer.Bytes;
            try
            {
                await DownloadFileAsync(file, temporary, what, transfer, cancellationToken).ConfigureAwait(false);
                File.Move(temporary, path, overwrite: true);
                return path;
            }
            catch (Exception e) when (IsLinkFailure(e, cancellationToken))
            {
                File.Delete(temporary);
                if (attempt >= policy.MaxAttempts)
                {
                    throw new BlobDownloadException($"the layer's chunk {what} could not be downloaded ({e.Message}); trying again next round.", transient: true, e);
                }
                await Task.Delay(policy.Backoff(attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task DownloadFileAsync(ChunkFile file, string temporary, string what, Transfer transfer, CancellationToken cancellationToken)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(policy.StallTimeout);
        transfer.Requests++;
        using var response = await http.GetAsync(file.Url, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                break;
            case HttpStatusCode.Forbidden:
                throw new UrlExpiredException($"the chunk {what} URL was refused (403): it expired; asking for a new plan.");
            case HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError:
                throw new IOException($"the chunk {what} URL answered {(int)response.StatusCode}");
            default:
                throw new ChunkFallbackException($"the chunk {what} URL answered {(int)response.StatusCode}", 0);
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(DownloadPolicy.BufferBytes);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
            await using var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
            while (true)
            {
                int n = await policy.ReadAsync(body, buffer.AsMemory(0, DownloadPolicy.BufferBytes), stall, $"of the chunk {what} ", cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                transfer.Add(n);
                length += n;
                if (length > file.Size)
                {
                    throw new ChunkFallbackException($"the chunk {what} is longer than the {file.Size} bytes the plan gives", 0);
                }
                hash.AppendData(buffer.AsSpan(0, n));
                await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }
            output.Flush(flushToDisk: true);
        }
        catch (IOException e) when (DiskSpace.IsDiskFull(e))
        {
            throw new DiskFullException($"not enough disk space for the layer's chunk {what}: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (length < file.Size)
        {
            throw new IOException($"the chunk {what} ended at {length} of {file.Size} bytes");
        }
        if (BlobDigest.FromHash(hash.GetHashAndReset()) != BlobDigest.Parse(file.Digest))
        {
            throw new ChunkFallbackException($"the chunk {what}'s bytes do not match its digest {file.Digest}", 0);
        }
    }

    private static bool IsLinkFailure(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && e is not DiskFullException
        && e is HttpRequestException or IOException or TimeoutException or OperationCanceledException;

    /// <summary>What one delta cost on the link so far: body bytes received and requests made, with progress.</summary>
    private sealed class Transfer(IBlobProgress progress)
    {
        public long Bytes { get; private set; }

        public int Requests { get; set; }

        /// <summary>Chunks fetched from the pack by this delta (verified before they were stored).</summary>
        public HashSet<ChunkId> Fetched { get; } = [];

        public void Add(int n)
        {
            Bytes += n;
            progress.Advanced(Bytes);
        }
    }

    /// <summary>The pack table: one little-endian uint32 frame length per index entry; offsets are the running sums.</summary>
    private sealed class PackTable
    {
        private readonly long[] _offsets;

        private PackTable(long[] offsets, int maxFrame)
        {
            _offsets = offsets;
            MaxFrame = maxFrame;
        }

        /// <summary>The longest frame in the table.</summary>
        public int MaxFrame { get; }

        public long Offset(int entry) => _offsets[entry];

        public int Length(int entry) => (int)(_offsets[entry + 1] - _offsets[entry]);

        /// <exception cref="ChunkFallbackException">The table does not fit the index or the pack.</exception>
        public static PackTable Read(byte[] table, CaibxIndex index, long packSize)
        {
            int entries = index.Entries.Count;
            if (table.Length != 4L * entries)
            {
                throw new ChunkFallbackException($"the pack table has {table.Length} bytes; {entries} index entries need {4L * entries}", 0);
            }
            // A frame may be a little larger than its chunk (zstd's bound), never more.
            int bound = Compressor.GetCompressBound(index.Sizes.Max);
            var offsets = new long[entries + 1];
            int maxFrame = 1;
            for (int k = 0; k < entries; k++)
            {
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(4 * k));
                if (length == 0 || length > bound)
                {
                    throw new ChunkFallbackException($"the pack table gives entry {k} a frame of {length} bytes (1..{bound})", 0);
                }
                maxFrame = Math.Max(maxFrame, (int)length);
                offsets[k + 1] = offsets[k] + length;
            }
            if (offsets[entries] != packSize)
            {
                throw new ChunkFallbackException($"the pack table adds up to {offsets[entries]} bytes; the pack has {packSize}", 0);
            }
            return new PackTable(offsets, maxFrame);
        }
    }

    /// <summary>Refuses to write more than the plan's <c>tar_size</c>: a hostile headers stream cannot fill the disk.</summary>
    private sealed class BoundedWriteStream(Stream inner, long limit) : Stream
    {
        private long _written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _written;

        public override long Position
        {
            get => _written;
            set => throw new NotSupportedException();
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Grow(buffer.Length);
            inner.Write(buffer);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Grow(buffer.Length);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private void Grow(int count)
        {
            _written += count;
            if (_written > limit)
            {
                throw new TarRebuildException($"The rebuilt tar grows past the {limit} bytes the plan gives.");
            }
        }
    }
}
