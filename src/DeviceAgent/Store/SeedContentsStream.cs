using Pipeline.Chunking;

namespace DeviceAgent.Store;

/// <summary>
/// A layer's contents stream read back from the seed store, chunk after chunk in index order:
/// what <see cref="TarRebuild"/> interleaves with the headers. Every chunk is decompressed and
/// verified against its id (and its length against the index) before a byte of it is handed out.
/// Holds one chunk in memory.
/// </summary>
internal sealed class SeedContentsStream : Stream
{
    private readonly ChunkStore _seeds;
    private readonly IReadOnlyList<CaibxEntry> _entries;
    private readonly ChunkCodec _codec = new();
    private readonly byte[] _chunk;
    private int _next;
    private int _offset;
    private int _length;
    private long _position;

    public SeedContentsStream(ChunkStore seeds, CaibxIndex index)
    {
        _seeds = seeds;
        _entries = index.Entries;
        _chunk = new byte[index.Sizes.Max];
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer)
    {
        if (_offset == _length)
        {
            if (_next == _entries.Count)
            {
                return 0;
            }
            Load(File.ReadAllBytes(_seeds.PathOf(_entries[_next].Id)));
        }
        return Take(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_offset == _length)
        {
            if (_next == _entries.Count)
            {
                return 0;
            }
            Load(await File.ReadAllBytesAsync(_seeds.PathOf(_entries[_next].Id), cancellationToken).ConfigureAwait(false));
        }
        return Take(buffer.Span);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _codec.Dispose();
        }
        base.Dispose(disposing);
    }

    private void Load(byte[] compressed)
    {
        var entry = _entries[_next];
        int length = _codec.DecompressVerified(compressed, entry.Id, _chunk);
        if (length != entry.Length)
        {
            throw new ChunkVerificationException(entry.Id, $"it is {length} bytes; the index says {entry.Length}.");
        }
        _next++;
        _offset = 0;
        _length = length;
    }

    private int Take(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, _length - _offset);
        _chunk.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        _position += n;
        return n;
    }
}
