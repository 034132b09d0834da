using System.Buffers;
using System.Security.Cryptography;
using Pipeline.Oci;

namespace Pipeline.Snapshots;

/// <summary>
/// The body of a Put Blob streamed straight from the registry: bytes pass through as they arrive,
/// hashed on the way (unless the source checks this very descriptor itself), but the blob's last
/// byte is held back until the source has ended at exactly the declared size and the bytes hash
/// to the declared digest. The service commits a Put Blob only once it has received the whole
/// <c>Content-Length</c>, so bytes that fail the check are never visible under the digest: the
/// request is abandoned one byte short. One 256 KiB chunk per upload; nothing grows with the blob.
/// </summary>
/// <remarks>
/// Seekable only in name: the SDK asks for the length and rewinds to the start before the first
/// send; any other seek (a retry after bytes went out) is refused, since the bytes are gone.
/// </remarks>
internal sealed class WithheldTailStream : Stream
{
    private readonly Stream _source;
    private readonly Descriptor _blob;
    private readonly IVerifiedBlobSource? _selfVerifying;
    private readonly IncrementalHash? _hash;
    private readonly Action<long>? _progress;
    /// <summary>
    /// Bytes read from the source and passed on at a time: still several of the transport's
    /// 80 KiB writes. Each layer being copied keeps one (an import copies up to eight at once).
    /// Measured cold against 1 MiB (scripts/bench.sh import, two rounds of three, alternating):
    /// peak working set at completion 150-151 MiB instead of 152-156, import time the same.
    /// </summary>
    private const int ChunkBytes = 256 * 1024;

    private byte[]? _chunk;
    private int _chunkStart;
    private int _chunkEnd;
    private long _read;
    private long _sent;

    public WithheldTailStream(Stream source, Descriptor blob, Action<long>? progress)
    {
        if (blob.Size < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(blob), "A streamed upload needs at least one byte to hold back.");
        }
        _source = source;
        _blob = blob;
        _progress = progress;
        _selfVerifying = source is IVerifiedBlobSource v && v.Expected == blob.Digest && v.Size == blob.Size ? v : null;
        _hash = _selfVerifying is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
    }

    /// <summary>What stopped the body, when the source or the check did (not the service).</summary>
    public Exception? Failure { get; private set; }

    /// <summary>True once the last byte was released: the bytes are the descriptor's.</summary>
    public bool Verified { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _blob.Size;

    public override long Position { get => _sent; set => Seek(value, SeekOrigin.Begin); }

    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _sent + offset,
            _ => _blob.Size + offset,
        };
        return target == _sent ? _sent : throw new NotSupportedException("A streamed upload cannot be rewound once bytes were sent.");
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Failure is not null)
        {
            throw Failure;
        }
        if (buffer.IsEmpty || _sent == _blob.Size)
        {
            return 0;
        }
        try
        {
            if (_chunkStart == _chunkEnd && _read < _blob.Size - 1)
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }
            if (_chunkStart < _chunkEnd)
            {
                int n = Math.Min(buffer.Length, _chunkEnd - _chunkStart);
                _chunk.AsSpan(_chunkStart, n).CopyTo(buffer.Span);
                _chunkStart += n;
                _sent += n;
                return n;
            }
            return await ReleaseTailAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Failure = e;
            throw;
        }
    }

    /// <summary>
    /// Reads the next chunk from the source (never the last byte), hashing it. Whole chunks, not
    /// each socket read as it comes, go on to the service: it spends per piece of body it
    /// receives, and a body trickling in at the registry's pace arrives in many small ones.
    /// </summary>
    private async Task FillAsync(CancellationToken cancellationToken)
    {
        _chunk ??= ArrayPool<byte>.Shared.Rent(ChunkBytes);
        int want = (int)Math.Min(_chunk.Length, _blob.Size - 1 - _read);
        int n = await _source.ReadAtLeastAsync(_chunk.AsMemory(0, want), want, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (n < want)
        {
            throw SizeError(_read + n);
        }
        _hash?.AppendData(_chunk, 0, n);
        _read += n;
        _chunkStart = 0;
        _chunkEnd = n;
        _progress?.Invoke(n);
    }

    /// <summary>Reads the last byte and checks that nothing follows it, verifies, then lets the byte go.</summary>
    private async Task<int> ReleaseTailAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        byte[] tail = new byte[1];
        if (await _source.ReadAtLeastAsync(tail, 1, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) == 0)
        {
            throw SizeError(_read);
        }
        if (await _source.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) > 0)
        {
            throw SizeError(_blob.Size + 1);
        }
        if (_hash is not null)
        {
            _hash.AppendData(tail);
            var actual = Digest.FromHash(_hash.GetCurrentHash());
            if (actual != _blob.Digest)
            {
                throw new DigestMismatchException($"Blob {_blob.Digest} hashed to {actual}; nothing was stored.");
            }
        }
        else if (_selfVerifying?.Verified != true)
        {
            throw new DigestMismatchException($"Blob {_blob.Digest} was not verified by its source; nothing was stored.");
        }
        Verified = true;
        buffer.Span[0] = tail[0];
        _read++;
        _sent++;
        _progress?.Invoke(1);
        return 1;
    }

    private DigestMismatchException SizeError(long seen) =>
        new($"Blob {_blob.Digest} should be {_blob.Size} bytes but {(seen > _blob.Size ? "more" : seen.ToString(System.Globalization.CultureInfo.InvariantCulture))} arrived; nothing was stored.");

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash?.Dispose();
            if (Interlocked.Exchange(ref _chunk, null) is { } chunk)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }
        base.Dispose(disposing);
    }
}
