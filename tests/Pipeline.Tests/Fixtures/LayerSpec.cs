namespace Pipeline.Tests.Fixtures;

/// <summary>One layer of a test image: files inserted under <see cref="Target"/> (one <c>umoci insert</c>).</summary>
public sealed record LayerSpec(IReadOnlyList<LayerFile> Files, string Target = "/")
{
    /// <summary>A layer with the given files under <c>/</c>.</summary>
    public static LayerSpec Of(params LayerFile[] files) => new(files);

    /// <summary>A layer with one small text file.</summary>
    public static LayerSpec Text(string path, string content) => new([LayerFile.Text(path, content)]);

    /// <summary>
    /// A layer holding one file of <paramref name="size"/> incompressible random bytes (the gzip
    /// layer blob is slightly larger than <paramref name="size"/>). Different on every build.
    /// </summary>
    public static LayerSpec RandomData(long size, string path = "data/random.bin") => new([LayerFile.Random(path, size)]);

    /// <summary>Like <see cref="RandomData"/> but the same bytes, and the same layer digest, on every build.</summary>
    public static LayerSpec SeededData(long size, int seed, string path = "data/seeded.bin") => new([LayerFile.Seeded(path, size, seed)]);
}
