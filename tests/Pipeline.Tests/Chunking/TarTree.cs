using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Chunking;

/// <summary>
/// A directory tree with every kind of entry the tar split must get right, and GNU tar to pack
/// it (an independent writer, not this project's code).
/// </summary>
internal static class TarTree
{
    /// <summary>Writes the tree under <paramref name="root"/>. <paramref name="ustarSafe"/> leaves out what ustar cannot hold (a link target over 100 bytes).</summary>
    public static void Create(string root, bool ustarSafe)
    {
        var random = new Random(17);
        Directory.CreateDirectory(root);
        Write(root, "empty", 0, random);
        Write(root, "one-block", 512, random);
        Write(root, "two-blocks", 1024, random);
        Write(root, "odd", 1000, random);
        Write(root, "big.bin", 700_000, random);
        Write(root, "sub/nested/data.bin", 123_457, random);
        Write(root, "sub/nested/exact.bin", 8192, random);
        Write(root, "grüße-ファイル.txt", 300, random);
        Directory.CreateDirectory(Path.Combine(root, "empty-dir"));

        // Over 100 bytes, but splittable into ustar's prefix and name fields.
        var longDir = Path.Combine(root, new string('d', 90), new string('e', 50));
        Write(longDir, new string('f', 95) + ".txt", 2048, random);

        File.CreateSymbolicLink(Path.Combine(root, "link-to-big"), "big.bin");
        File.CreateSymbolicLink(Path.Combine(root, "dangling"), "does/not/exist");
        if (!ustarSafe)
        {
            File.CreateSymbolicLink(Path.Combine(root, "long-target"), new string('t', 150));
        }
        HardLink(Path.Combine(root, "big.bin"), Path.Combine(root, "big-hardlink.bin"));
        HardLink(Path.Combine(root, "empty"), Path.Combine(root, "sub", "empty-hardlink"));
    }

    /// <summary><c>tar --format=FORMAT</c>, names sorted so the same tree always packs the same way.</summary>
    public static Task PackAsync(string root, string tarPath, string format) =>
        ProcessRunner.RunAsync("tar", [$"--format={format}", "--sort=name", "-C", root, "-cf", tarPath, "."]);

    /// <summary>Sets every entry's mtime (links themselves, not their targets) to one instant.</summary>
    public static Task TouchAllAsync(string root, string date) =>
        ProcessRunner.RunAsync("find", [root, "-exec", "touch", "-h", "-d", date, "{}", "+"]);

    private static void Write(string dir, string name, int length, Random random)
    {
        var path = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[length];
        random.NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
    }

    private static void HardLink(string existing, string link) =>
        ProcessRunner.RunAsync("ln", existing, link).GetAwaiter().GetResult();
}
