using System.Security.Cryptography;

namespace Pipeline.Chunking;

/// <summary>Reads the tar through one buffer, hashing and counting every byte it hands out.</summary>
internal sealed class HashingReader(Stream inner, int bufferSize)
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[bufferSize];
    private int _start;
    private int _end;

    public long Length { get; private set; }

    /// <summary>Fills <paramref name="destination"/> unless the tar ends first; returns the bytes read.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        int total = 0;
        while (total < destination.Length)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await inner.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
                if (_end == 0)
                {
                    break;
                }
            }
            int n = Math.Min(_end - _start, destination.Length - total);
            var piece = _buffer.AsSpan(_start, n);
            piece.CopyTo(destination.Span[total..]);
            _hash.AppendData(piece);
            _start += n;
            total += n;
        }
        Length += total;
        return total;
    }

    public byte[] Finish() => _hash.GetHashAndReset();
}
