namespace Pipeline;

/// <summary>
/// The common part of the pipeline's read-only, forward-only streams (a blob as it arrives):
/// no seeking, no writing, no known length. A stream that can say how far it has read overrides
/// <see cref="Position"/>'s getter.
/// </summary>
public abstract class ForwardReadStream : Stream
{
    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
