using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// One regular file in a test image layer: a path relative to the layer's target folder and its
/// content, either given bytes, a seeded pseudo-random stream (the same bytes every run), a
/// repeated byte (compresses to almost nothing), or cryptographically random bytes (incompressible,
/// different every run).
/// </summary>
public sealed record LayerFile
{
    private const int ChunkSize = 1 << 20;

    private LayerFile(string path, long size, byte[]? content, int? seed, byte? fill)
    {
        if (string.IsNullOrWhiteSpace(path) || System.IO.Path.IsPathRooted(path) || path.Split('/').Contains(".."))
        {
            throw new ArgumentException($"'{path}' must be a relative path inside the layer.", nameof(path));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Path = path;
        Size = size;
        Content = content;
        Seed = seed;
        Fill = fill;
    }

    /// <summary>Relative path, '/'-separated (folders are created).</summary>
    public string Path { get; }

    public long Size { get; }

    /// <summary>The exact bytes, when given.</summary>
    public byte[]? Content { get; }

    /// <summary>The seed of the pseudo-random content, when seeded.</summary>
    public int? Seed { get; }

    /// <summary>The repeated byte, when filled.</summary>
    public byte? Fill { get; }

    /// <summary>True when the content is different on every build (cryptographic random).</summary>
    public bool IsRandom => Content is null && Seed is null && Fill is null;

    public static LayerFile Text(string path, string content) => Bytes(path, Encoding.UTF8.GetBytes(content));

    public static LayerFile Bytes(string path, byte[] content) => new(path, content.Length, content, null, null);

    /// <summary>Pseudo-random bytes from <paramref name="seed"/>: the same content (and layer digest) every run.</summary>
    public static LayerFile Seeded(string path, long size, int seed) => new(path, size, null, seed, null);

    /// <summary><paramref name="size"/> copies of <paramref name="value"/>: highly compressible.</summary>
    public static LayerFile Filled(string path, long size, byte value = 0) => new(path, size, null, null, value);

    /// <summary>Cryptographically random bytes: incompressible, different on every build.</summary>
    public static LayerFile Random(string path, long size) => new(path, size, null, null, null);

    /// <summary>Writes the content to <paramref name="fullPath"/>.</summary>
    public async Task WriteToAsync(string fullPath, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(fullPath)!);
        await using var stream = new FileStream(fullPath, FileMode.Create, FileAccess.Write, FileShare.None, ChunkSize, useAsync: true);
        if (Content is not null)
        {
            await stream.WriteAsync(Content, cancellationToken);
            return;
        }
        var generator = Seed is { } seed ? new System.Random(seed) : null;
        var buffer = new byte[(int)Math.Min(ChunkSize, Math.Max(Size, 1))];
        if (Fill is { } fill)
        {
            Array.Fill(buffer, fill);
        }
        for (long left = Size; left > 0;)
        {
            int n = (int)Math.Min(buffer.Length, left);
            if (generator is not null)
            {
                generator.NextBytes(buffer.AsSpan(0, n));
            }
            else if (Fill is null)
            {
                RandomNumberGenerator.Fill(buffer.AsSpan(0, n));
            }
            await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            left -= n;
        }
    }

    public override string ToString() =>
        $"LayerFile {{ Path = {Path}, Size = {Size}, Kind = {(Content is not null ? "bytes" : Seed is not null ? $"seed {Seed}" : Fill is not null ? $"fill {Fill}" : "random")} }}";
}
