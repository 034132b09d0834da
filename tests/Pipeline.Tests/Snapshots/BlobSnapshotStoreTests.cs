using System.Security.Cryptography;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Pipeline.Oci;
using Pipeline.Snapshots;
using Pipeline.Storage;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Snapshots;

/// <summary>
/// The snapshot store against real Azurite (TEST-MATRIX rows 2, 3, 26): verified bytes are
/// committed under their digest; wrong, long or short bytes leave no committed blob.
/// </summary>
public sealed class BlobSnapshotStoreTests : IAsyncLifetime
{
    // Over one block, so the staged path with more than one block is what is tested.
    private const int LargeBytes = (int)BlobSnapshotStore.BlockBytes + 3 * 1024 * 1024 + 17;
    private const int SmallBytes = 100_000;

    private BlobSnapshotStore _store = null!;
    private AzuriteFixture _azurite = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteFixture.GetSharedAsync();
        var storage = new PipelineStorage(Options.Create(new StorageOptions { ConnectionString = _azurite.ConnectionString }));
        await storage.EnsureSnapshotsContainerAsync(CancellationToken.None);
        _store = new BlobSnapshotStore(storage, NullLogger<BlobSnapshotStore>.Instance);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static (byte[] Bytes, Descriptor Descriptor) Content(int size)
    {
        byte[] bytes = RandomNumberGenerator.GetBytes(size);
        return (bytes, new Descriptor(MediaTypes.OciLayerGzip, Digest.Compute(bytes), size));
    }

    private async Task AssertNotCommittedAsync(Digest digest)
    {
        Assert.False(await _store.ExistsAsync(digest, CancellationToken.None));
        var blocks = await _store.Blob(digest).GetBlockListAsync(Azure.Storage.Blobs.Models.BlockListTypes.Committed).ContinueWith(t => t.IsFaulted ? null : t.Result.Value);
        Assert.True(blocks is null || !blocks.CommittedBlocks.Any());
    }

    [Theory]
    [InlineData(SmallBytes)]
    [InlineData(LargeBytes)]
    public async Task WriteAsync_RightBytes_CommitsThemUnderTheirDigest(int size)
    {
        var (bytes, descriptor) = Content(size);
        long progress = 0;

        var outcome = await _store.WriteAsync(descriptor, new MemoryStream(bytes), n => Interlocked.Add(ref progress, n), CancellationToken.None);

        Assert.Equal(BlobWriteOutcome.Stored, outcome);
        Assert.Equal(size, progress);
        var (storedSize, hash) = await StoredBlobs.ReadAsync(_azurite.ConnectionString, descriptor.Digest);
        Assert.Equal(size, storedSize);
        Assert.Equal(descriptor.Digest, hash);
        Assert.Equal(BlobWriteOutcome.AlreadyPresent, await _store.WriteAsync(descriptor, new MemoryStream(bytes), null, CancellationToken.None));
    }

    [Theory]
    [InlineData(SmallBytes)]
    [InlineData(LargeBytes)]
    public async Task WriteAsync_BytesHashToAnotherDigest_ThrowsDigestMismatchAndCommitsNothing(int size)
    {
        var (bytes, descriptor) = Content(size);
        bytes[size / 2] ^= 0xff;

        var e = await Assert.ThrowsAsync<DigestMismatchException>(() => _store.WriteAsync(descriptor, new MemoryStream(bytes), null, CancellationToken.None));

        Assert.Equal(ErrorCodes.DigestMismatch, e.Code);
        await AssertNotCommittedAsync(descriptor.Digest);
    }

    [Theory]
    [InlineData(SmallBytes, 1)]
    [InlineData(SmallBytes, -1)]
    [InlineData(LargeBytes, 1)]
    [InlineData(LargeBytes, -1)]
    [InlineData(LargeBytes, -(int)BlobSnapshotStore.BlockBytes)]
    public async Task WriteAsync_LongerOrShorterThanDeclared_ThrowsAndCommitsNothing(int size, int delta)
    {
        var (bytes, descriptor) = Content(size);
        var source = new CountingStream(new MemoryStream(delta > 0 ? [.. bytes, .. RandomNumberGenerator.GetBytes(delta)] : bytes[..(size + delta)]));

        await Assert.ThrowsAsync<DigestMismatchException>(() => _store.WriteAsync(descriptor, source, null, CancellationToken.None));

        await AssertNotCommittedAsync(descriptor.Digest);
        // A longer source is abandoned at its size + 1st byte, not read to its end.
        Assert.True(source.BytesRead <= size + 1, $"read {source.BytesRead} of {size}");
    }

    [Fact]
    public async Task WriteAsync_SameBlobTwiceAtOnce_OneCommittedBlobBothSucceed()
    {
        var (bytes, descriptor) = Content(LargeBytes);

        var outcomes = await Task.WhenAll(
            _store.WriteAsync(descriptor, new MemoryStream(bytes), null, CancellationToken.None),
            _store.WriteAsync(descriptor, new MemoryStream(bytes), null, CancellationToken.None));

        Assert.Contains(BlobWriteOutcome.Stored, outcomes);
        var (_, hash) = await StoredBlobs.ReadAsync(_azurite.ConnectionString, descriptor.Digest);
        Assert.Equal(descriptor.Digest, hash);
    }

    [Fact]
    public async Task WriteAsync_CorruptWriterRacingAGoodOne_CommittedBlobIsTheGoodBytes()
    {
        var (bytes, descriptor) = Content(LargeBytes);
        byte[] corrupt = (byte[])bytes.Clone();
        corrupt[10] ^= 1;

        var good = _store.WriteAsync(descriptor, new MemoryStream(bytes), null, CancellationToken.None);
        var bad = _store.WriteAsync(descriptor, new MemoryStream(corrupt), null, CancellationToken.None);

        Assert.Equal(BlobWriteOutcome.Stored, await good);
        await Assert.ThrowsAsync<DigestMismatchException>(() => bad);
        var (_, hash) = await StoredBlobs.ReadAsync(_azurite.ConnectionString, descriptor.Digest);
        Assert.Equal(descriptor.Digest, hash);
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) { int n = inner.Read(buffer, offset, count); BytesRead += n; return n; }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) { int n = await inner.ReadAsync(buffer, cancellationToken); BytesRead += n; return n; }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
