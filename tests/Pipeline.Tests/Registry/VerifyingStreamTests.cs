using System.Security.Cryptography;
using Pipeline.Oci;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

public sealed class VerifyingStreamTests
{
    private static VerifyingStream Over(byte[] served, byte[] expected) =>
        new(new TrickleStream(served, 7), Digest.Compute(expected), expected.Length, "test/repo");

    [Fact]
    public async Task ReadAsync_ExactBytes_ReturnsThemAndEndsCleanly()
    {
        byte[] content = RandomNumberGenerator.GetBytes(1000);
        await using var stream = Over(content, content);
        var copy = new MemoryStream();

        await stream.CopyToAsync(copy);

        Assert.Equal(content, copy.ToArray());
        Assert.Equal(1000, stream.BytesRead);
    }

    [Fact]
    public void Read_OneByteTooMany_ThrowsAtSizePlusOne()
    {
        byte[] content = RandomNumberGenerator.GetBytes(100);
        using var stream = Over([.. content, 1, 2, 3], content);
        var buffer = new byte[1];
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(1, stream.Read(buffer));
        }

        var ex = Assert.Throws<DigestMismatchException>(() => stream.Read(buffer));

        Assert.Contains("more than", ex.Message);
    }

    [Fact]
    public void Read_EndBeforeSize_Throws()
    {
        byte[] content = RandomNumberGenerator.GetBytes(100);
        using var stream = Over(content[..60], content);

        var ex = Assert.Throws<DigestMismatchException>(() => stream.CopyTo(Stream.Null));

        Assert.Contains("fewer than", ex.Message);
    }

    [Fact]
    public void Read_WrongBytesOfRightSize_ThrowsInTheReadOfTheLastByte()
    {
        byte[] content = RandomNumberGenerator.GetBytes(100);
        byte[] served = (byte[])content.Clone();
        served[0] ^= 1;
        using var stream = Over(served, content);
        var buffer = new byte[100];

        // ReadExactly never asks past the last byte, so the check cannot wait for end of stream.
        var ex = Assert.Throws<DigestMismatchException>(() => stream.ReadExactly(buffer));

        Assert.Equal(ErrorCodes.DigestMismatch, ex.Code);
    }

    [Fact]
    public void Read_AfterFailure_ThrowsAgain()
    {
        byte[] content = RandomNumberGenerator.GetBytes(10);
        using var stream = Over(content[..5], content);
        Assert.Throws<DigestMismatchException>(() => stream.CopyTo(Stream.Null));

        Assert.Throws<DigestMismatchException>(() => stream.Read(new byte[10]));
    }

    [Fact]
    public void Read_EmptyBlob_VerifiesAtEnd()
    {
        using var ok = Over([], []);
        Assert.Equal(0, ok.Read(new byte[10]));

        using var bad = new VerifyingStream(new MemoryStream([]), Digest.Compute("x"u8), 0, "test/repo");
        Assert.Throws<DigestMismatchException>(() => bad.Read(new byte[10]));
    }

    [Fact]
    public void Dispose_DisposesInnerAndOwner()
    {
        var inner = new MemoryStream([1]);
        var owner = new DisposeProbe();
        var stream = new VerifyingStream(inner, Digest.Compute([1]), 1, "test/repo", owner);

        stream.Dispose();

        Assert.False(inner.CanRead);
        Assert.True(owner.Disposed);
    }

    /// <summary>Hands out at most a few bytes per read, like a slow network.</summary>
    private sealed class TrickleStream(byte[] content, int chunk) : MemoryStream(content)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }

    private sealed class DisposeProbe : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }
}
