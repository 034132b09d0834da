using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pipeline.Chunking;

/// <summary>
/// casync's content-defined chunker: a buzhash over a 48-byte window, cutting where
/// <c>hash % discriminator == discriminator - 1</c> once a chunk has its minimum size, and
/// forcing a cut at the maximum. Fed any split of a stream it finds the same cuts as
/// <c>casync make</c>, so chunk ids match casync's and stay stable across builds.
/// </summary>
/// <remarks>
/// <para>Follows <c>ca_chunker_scan</c> in casync's <c>src/cachunker.c</c>: the first
/// <c>min - 48</c> bytes of a chunk are not hashed at all (no cut can fall there), the next 48
/// fill the window and the first test happens when the chunk is exactly <c>min</c> bytes long;
/// from then on every byte rolls the hash and is tested.</para>
/// <para>Streaming and bounded: it keeps only the 48-byte window, never the chunk. The caller
/// keeps the bytes it needs (see <see cref="ChunkingStream"/>).</para>
/// </remarks>
public sealed class Chunker
{
    private readonly byte[] _window = new byte[ChunkSizes.WindowSize];
    private readonly int _skip;
    private readonly uint _discriminatorMinusOne;
    private readonly ulong _divisibilityFactor;

    private uint _hash;
    private int _chunkLength;
    private int _windowFill;

    // Once the window is full, the oldest byte sits here; the bytes after it, wrapping, are newer.
    private int _oldest;

    public Chunker(ChunkSizes sizes)
    {
        if (sizes.Min == 0)
        {
            throw new ArgumentException("Use a constructed ChunkSizes, not default.", nameof(sizes));
        }
        Sizes = sizes;
        _skip = sizes.Min - ChunkSizes.WindowSize;
        _discriminatorMinusOne = sizes.Discriminator - 1;
        // Lemire's divisibility test: n % d == 0 exactly when n * (2^64 / d + 1) wraps to less
        // than that factor. One multiply per byte instead of a 32-bit division.
        _divisibilityFactor = (ulong.MaxValue / sizes.Discriminator) + 1;
    }

    public ChunkSizes Sizes { get; }

    /// <summary>Bytes of the current, still open chunk that have been scanned.</summary>
    public int PendingLength => _chunkLength;

    /// <summary>
    /// Scans the next bytes of the stream. Returns how many of them complete the current chunk
    /// (the cut falls after that many bytes; the chunker is then ready for the next chunk, so
    /// scan the rest of <paramref name="data"/> again), or -1 when all of them belong to the
    /// current chunk and no cut was found.
    /// </summary>
    public int FindCut(ReadOnlySpan<byte> data)
    {
        int i = 0;
        int n = data.Length;

        if (_chunkLength < _skip)
        {
            int k = Math.Min(_skip - _chunkLength, n);
            _chunkLength += k;
            i = k;
            if (i == n)
            {
                return -1;
            }
        }

        if (_windowFill < ChunkSizes.WindowSize)
        {
            int m = Math.Min(ChunkSizes.WindowSize - _windowFill, n - i);
            data.Slice(i, m).CopyTo(_window.AsSpan(_windowFill));
            _windowFill += m;
            _chunkLength += m;
            i += m;
            if (_windowFill < ChunkSizes.WindowSize)
            {
                return -1;
            }
            _hash = StartHash(_window);
            _oldest = 0;
            if (IsCut(_hash))
            {
                Reset();
                return i;
            }
        }

        return Roll(data, i);
    }

    /// <summary>Forgets the open chunk, as after a cut (for example at the end of a stream).</summary>
    public void Reset()
    {
        _hash = 0;
        _chunkLength = 0;
        _windowFill = 0;
        _oldest = 0;
    }

    private int Roll(ReadOnlySpan<byte> data, int start)
    {
        // The max cut is known in advance, so the loop tests only the hash.
        int toMax = Sizes.Max - _chunkLength;
        int end = start + Math.Min(data.Length - start, toMax);
        uint h = _hash;
        ref byte d = ref MemoryMarshal.GetReference(data);
        ReadOnlySpan<uint> entering = BuzhashTable.Entering;
        ReadOnlySpan<uint> leaving = BuzhashTable.Leaving;
        uint dm1 = _discriminatorMinusOne;
        ulong factor = _divisibilityFactor;

        // The first 48 positions take their leaving byte from the saved window …
        int fromWindowEnd = Math.Min(end, start + ChunkSizes.WindowSize);
        int j = start;
        for (; j < fromWindowEnd; j++)
        {
            byte leave = _window[(_oldest + (j - start)) % ChunkSizes.WindowSize];
            h = BitOperations.RotateLeft(h, 1) ^ leaving[leave] ^ entering[Unsafe.Add(ref d, j)];
            if (IsCut(h, dm1, factor))
            {
                Reset();
                return j + 1;
            }
        }

        // … and the rest from the span itself, 48 bytes back: no ring buffer writes per byte.
        for (; j < end; j++)
        {
            h = BitOperations.RotateLeft(h, 1)
                ^ leaving[Unsafe.Add(ref d, j - ChunkSizes.WindowSize)]
                ^ entering[Unsafe.Add(ref d, j)];
            if (IsCut(h, dm1, factor))
            {
                Reset();
                return j + 1;
            }
        }

        _chunkLength += end - start;
        if (_chunkLength >= Sizes.Max)
        {
            Reset();
            return end;
        }

        _hash = h;
        SaveWindow(data, start, end);
        return -1;
    }

    private void SaveWindow(ReadOnlySpan<byte> data, int start, int end)
    {
        if (end - start >= ChunkSizes.WindowSize)
        {
            data.Slice(end - ChunkSizes.WindowSize, ChunkSizes.WindowSize).CopyTo(_window);
            _oldest = 0;
            return;
        }
        for (int j = start; j < end; j++)
        {
            _window[_oldest] = data[j];
            _oldest = (_oldest + 1) % ChunkSizes.WindowSize;
        }
    }

    private bool IsCut(uint hash) => IsCut(hash, _discriminatorMinusOne, _divisibilityFactor);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsCut(uint hash, uint discriminatorMinusOne, ulong factor) =>
        (ulong)unchecked(hash - discriminatorMinusOne) * factor <= factor - 1 && hash >= discriminatorMinusOne;

    /// <summary>casync's <c>ca_chunker_start</c>: the hash of a full window, oldest byte rotated most.</summary>
    internal static uint StartHash(ReadOnlySpan<byte> window)
    {
        uint h = 0;
        ReadOnlySpan<uint> entering = BuzhashTable.Entering;
        for (int i = 0; i < window.Length; i++)
        {
            h ^= BitOperations.RotateLeft(entering[window[i]], window.Length - 1 - i);
        }
        return h;
    }
}
