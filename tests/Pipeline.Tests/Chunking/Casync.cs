using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Chunking;

/// <summary>
/// Runs casync, the reference implementation the chunk format must match. A missing casync
/// fails the test with the fix (never skips, under CI or not): scripts/setup.sh installs it.
/// </summary>
internal static class Casync
{
    private const string Binary = "casync";

    /// <summary><c>casync make --digest=sha256 --store=STORE INDEX BLOB</c> with its default chunk sizes.</summary>
    public static Task MakeBlobIndexAsync(string store, string index, string blob) =>
        RunAsync("make", "--digest=sha256", $"--store={store}", index, blob);

    /// <summary>The same with explicit sizes (<c>--chunk-size=MIN:AVG:MAX</c>).</summary>
    public static Task MakeBlobIndexAsync(string store, string index, string blob, Pipeline.Chunking.ChunkSizes sizes) =>
        RunAsync("make", "--digest=sha256", $"--chunk-size={sizes.Min}:{sizes.Avg}:{sizes.Max}", $"--store={store}", index, blob);

    /// <summary><c>casync extract --store=STORE INDEX OUTPUT</c>: rebuilds the blob from the index and store.</summary>
    public static Task ExtractBlobAsync(string store, string index, string output) =>
        RunAsync("extract", $"--store={store}", index, output);

    private static async Task RunAsync(params string[] arguments)
    {
        if (FindOnPath(Binary) is null)
        {
            Assert.Fail($"{Binary} is not installed: the chunk format is tested against it. Run scripts/setup.sh (apt package 'casync').");
        }
        await ProcessRunner.RunAsync(Binary, arguments);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
