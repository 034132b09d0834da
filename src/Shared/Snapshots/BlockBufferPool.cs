using System.Collections.Concurrent;

namespace Pipeline.Snapshots;

/// <summary>
/// A fixed number of equally sized block buffers shared by every write of the process: renting
/// waits while all are in use, so the memory a burst of layer writes holds has a ceiling.
/// Buffers are made on first need and kept for reuse.
/// </summary>
internal sealed class BlockBufferPool(int bufferBytes, int count) : IDisposable
{
    private readonly SemaphoreSlim _available = new(count, count);
    private readonly ConcurrentBag<byte[]> _free = [];

    public int BufferBytes => bufferBytes;

    public async Task<byte[]> RentAsync(CancellationToken cancellationToken)
    {
        await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
        return _free.TryTake(out var buffer) ? buffer : GC.AllocateUninitializedArray<byte>(bufferBytes);
    }

    public void Return(byte[] buffer)
    {
        _free.Add(buffer);
        _available.Release();
    }

    public void Dispose() => _available.Dispose();
}
