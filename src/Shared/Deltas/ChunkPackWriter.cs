using System.Buffers.Binary;
using System.Globalization;
using Azure.Storage.Blobs.Specialized;
using Pipeline.Chunking;
using Pipeline.Storage;

namespace Pipeline.Deltas;

/// <summary>
/// The sink of a layer's contents stream: cuts it into chunks (casync's chunker, 16/64/256 KiB),
/// compresses each into one zstd frame, appends the frames to the layer's pack (staged as blocks
/// of a few MiB, committed only by <see cref="CommitAsync"/>), and collects the casync index and
/// the pack table. Memory: one block of frames plus 36 bytes per chunk.
/// </summary>
internal sealed class ChunkPackWriter : Stream
{
    private const int BlockBytes = 8 * 1024 * 1024;

    private readonly BlockBlobClient _pack;
    private readonly ChunkingStream _chunker;
    private readonly ChunkCodec _codec = new();
    private readonly CaibxWriter _index;
    private readonly MemoryStream _indexBytes = new();
    private readonly List<uint> _frames = [];
    private readonly List<string> _blocks = [];
    private readonly MemoryStream _pending;
    private long _packSize;

    /// <summary>
    /// A writer into <paramref name="pack"/>, collecting each block in <paramref name="blockBuffer"/>
    /// (from <see cref="NewBlockBuffer"/>; emptied first, and left to the caller to reuse).
    /// </summary>
    public ChunkPackWriter(BlockBlobClient pack, MemoryStream blockBuffer)
    {
        _pack = pack;
        _pending = blockBuffer;
        _pending.SetLength(0);
        _index = new CaibxWriter(_indexBytes, ChunkSizes.Default);
        _chunker = new ChunkingStream(ChunkSizes.Default, OnChunk);
    }

    /// <summary>A buffer for one block of a pack and the compressed chunk that completes it.</summary>
    public static MemoryStream NewBlockBuffer() => new(BlockBytes + (int)ZstdSharp.Compressor.GetCompressBound(ChunkSizes.Default.Max));

    public long ContentsLength => _chunker.Length;

    public long PackSize => _packSize;

    public int Chunks => _frames.Count;

    private void OnChunk(ReadOnlySpan<byte> chunk)
    {
        var id = ChunkId.Compute(chunk);
        var frame = _codec.CompressToScratch(chunk);
        _index.Add(id, chunk.Length);
        _frames.Add((uint)frame.Length);
        _pending.Write(frame);
        _packSize += frame.Length;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _chunker.Write(buffer.Span);
        if (_pending.Length >= BlockBytes)
        {
            await StageAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Write asynchronously.");

    /// <summary>Ends the contents stream: the last chunk and block; returns the index and the table.</summary>
    public async Task<(byte[] Index, byte[] Table)> CompleteAsync(CancellationToken cancellationToken)
    {
        _chunker.Complete();
        _index.Complete();
        await StageAsync(cancellationToken).ConfigureAwait(false);
        var table = new byte[_frames.Count * 4];
        for (int i = 0; i < _frames.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(i * 4), _frames[i]);
        }
        return (_indexBytes.ToArray(), table);
    }

    /// <summary>Makes the staged frames the pack's content (once the tar behind them verified).</summary>
    public Task CommitAsync(CancellationToken cancellationToken) =>
        _pack.CommitBlockListAsync(_blocks, cancellationToken: cancellationToken);

    private async Task StageAsync(CancellationToken cancellationToken)
    {
        if (_pending.Length == 0)
        {
            return;
        }
        string id = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(_blocks.Count.ToString("D8", CultureInfo.InvariantCulture)));
        _pending.Position = 0;
        // With its Content-MD5 (without one, indexing a 400 MiB layer on Azurite took 16-20 s, not 12).
        await _pack.StageBlockAsync(id, _pending, ContentMd5.StageBlockOptions(_pending.GetBuffer().AsSpan(0, (int)_pending.Length)), cancellationToken).ConfigureAwait(false);
        _blocks.Add(id);
        // The same buffer for the next block: a new one per block would grow by doubling again
        // and leave a large-object array behind each time.
        _pending.SetLength(0);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _codec.Dispose();
            _indexBytes.Dispose();
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _chunker.Length;

    public override long Position { get => _chunker.Length; set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
