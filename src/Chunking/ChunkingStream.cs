namespace Pipeline.Chunking;

/// <summary>Receives one finished chunk; the span is only valid during the call.</summary>
public delegate void ChunkHandler(ReadOnlySpan<byte> chunk);

/// <summary>
/// A write-only stream that cuts what is written into it into content-defined chunks and hands
/// each finished chunk to a handler, so a layer can be chunked while it is copied (for example
/// straight out of <see cref="TarSplit"/>). Holds at most one chunk (<see cref="ChunkSizes.Max"/>
/// bytes), never the stream. Call <see cref="Complete"/> at the end of the input: disposing
/// alone does not emit the last chunk, so an input abandoned after an error never yields a
/// chunk that looks final.
/// </summary>
public sealed class ChunkingStream : Stream
{
    private readonly Chunker _chunker;
    private readonly ChunkHandler _onChunk;
    private readonly byte[] _pending;
    private int _pendingLength;
    private long _length;
    private bool _completed;

    public ChunkingStream(ChunkSizes sizes, ChunkHandler onChunk)
    {
        ArgumentNullException.ThrowIfNull(onChunk);
        _chunker = new Chunker(sizes);
        _onChunk = onChunk;
        _pending = new byte[sizes.Max];
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_completed;

    /// <summary>Bytes written so far.</summary>
    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _length += buffer.Length;
        while (!buffer.IsEmpty)
        {
            int cut = _chunker.FindCut(buffer);
            if (cut < 0)
            {
                Append(buffer);
                return;
            }
            if (_pendingLength == 0)
            {
                // The whole chunk is in the caller's buffer: no copy.
                _onChunk(buffer[..cut]);
            }
            else
            {
                Append(buffer[..cut]);
                _onChunk(_pending.AsSpan(0, _pendingLength));
                _pendingLength = 0;
            }
            buffer = buffer[cut..];
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Emits the last, shorter chunk (if any bytes are left) and ends the stream.</summary>
    public void Complete()
    {
        if (_completed)
        {
            return;
        }
        _completed = true;
        if (_pendingLength > 0)
        {
            _onChunk(_pending.AsSpan(0, _pendingLength));
            _pendingLength = 0;
        }
        _chunker.Reset();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += bytes.Length;
    }
}
