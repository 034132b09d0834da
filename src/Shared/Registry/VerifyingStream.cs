using System.Security.Cryptography;
using Pipeline.Oci;

namespace Pipeline.Registry;

/// <summary>
/// A read-only stream over a blob that hashes the bytes as they pass and checks them against the
/// descriptor (https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests;
/// TEST-MATRIX rows 2, 3): it throws <see cref="DigestMismatchException"/> as soon as more than
/// <see cref="Size"/> bytes arrive, when the stream ends before <see cref="Size"/> bytes, or when the
/// bytes, once <see cref="Size"/> of them have passed, hash to another digest. The check happens in the
/// read that delivers the last byte, so a reader that stops at exactly <see cref="Size"/> bytes is
/// still protected. Once failed, every further read throws again. Memory use is constant.
/// </summary>
public sealed class VerifyingStream : ForwardReadStream, IVerifiedBlobSource
{
    private readonly Stream _inner;
    private readonly IDisposable? _owner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly string _what;
    private bool _verified;
    private PipelineException? _failure;
    private bool _disposed;

    /// <param name="inner">The bytes as they arrive.</param>
    /// <param name="expected">The digest the bytes must hash to.</param>
    /// <param name="size">The exact number of bytes.</param>
    /// <param name="what">Names the blob in error messages (no secrets, no signed URLs).</param>
    /// <param name="owner">Disposed with the stream (e.g. the HTTP response).</param>
    public VerifyingStream(Stream inner, Digest expected, long size, string what, IDisposable? owner = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (expected.IsEmpty)
        {
            throw new ArgumentException("An expected digest is required.", nameof(expected));
        }
        _inner = inner;
        Expected = expected;
        Size = size;
        _what = what;
        _owner = owner;
    }

    public Digest Expected { get; }

    public long Size { get; }

    /// <summary>Bytes delivered so far.</summary>
    public long BytesRead { get; private set; }

    public bool Verified => _verified;

    public override bool CanRead => !_disposed;
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        ThrowIfFailedOrDisposed();
        if (buffer.IsEmpty)
        {
            return 0;
        }
        return Account(buffer, _inner.Read(buffer));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfFailedOrDisposed();
        if (buffer.IsEmpty)
        {
            return 0;
        }
        int n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span, n);
    }

    private int Account(ReadOnlySpan<byte> buffer, int n)
    {
        if (n == 0)
        {
            if (BytesRead < Size)
            {
                Fail($"the registry sent {BytesRead} bytes, fewer than the {Size} of its descriptor");
            }
            Verify(); // a zero-byte blob is verified here
            return 0;
        }
        if (BytesRead + n > Size)
        {
            Fail($"the registry sent more than the {Size} bytes of its descriptor");
        }
        _hash.AppendData(buffer[..n]);
        BytesRead += n;
        if (BytesRead == Size)
        {
            Verify();
        }
        return n;
    }

    /// <summary>The sha256 of the bytes delivered so far (a resumed download checks a restart against it).</summary>
    internal byte[] GetCurrentHash() => _hash.GetCurrentHash();

    private void Verify()
    {
        if (_verified)
        {
            return;
        }
        Span<byte> hash = stackalloc byte[32];
        _hash.GetHashAndReset(hash);
        var actual = Digest.FromHash(hash);
        if (actual != Expected)
        {
            Fail($"its {Size} bytes hash to {actual}");
        }
        _verified = true;
    }

    private void Fail(string why)
    {
        _failure = new DigestMismatchException($"Blob {Expected} of {_what} does not match its descriptor: {why}.");
        throw _failure;
    }

    private void ThrowIfFailedOrDisposed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
        {
            throw new DigestMismatchException(_failure.Detail);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _inner.Dispose();
            _owner?.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await _inner.DisposeAsync().ConfigureAwait(false);
            _owner?.Dispose();
            _hash.Dispose();
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
