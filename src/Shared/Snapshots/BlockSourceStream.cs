using System.Security.Cryptography;

namespace Pipeline.Snapshots;

/// <summary>
/// The next <c>length</c> bytes of a forward-only source, as the body of one Put Block request:
/// the bytes stream from the registry into the storage request without being buffered, and are
/// hashed on the way. It reports its length (so the request has a Content-Length) and allows a
/// seek only to where it already is: a request retried after bytes were sent cannot be replayed,
/// so it fails and the block is never staged from a second, partial read.
/// </summary>
internal sealed class BlockSourceStream(Stream source, long length, IncrementalHash hash, Action<long>? progress) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        long remaining = length - _position;
        if (remaining <= 0)
        {
            return 0;
        }
        // Fill the caller's buffer before handing it on: the request then goes out in full-size
        // writes rather than in whatever small pieces the registry's socket delivered, which
        // costs the storage service (Azurite above all) far less per byte.
        var target = buffer[..(int)Math.Min(buffer.Length, remaining)];
        int filled = 0;
        while (filled < target.Length)
        {
            int n = await source.ReadAsync(target[filled..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new DigestMismatchException($"The blob ended {remaining - filled} bytes before its declared size; nothing was stored.");
            }
            filled += n;
        }
        hash.AppendData(target.Span[..filled]);
        _position += filled;
        progress?.Invoke(filled);
        return filled;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        return target == _position
            ? _position
            : throw new NotSupportedException("A block streamed from the registry cannot be sent twice.");
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
