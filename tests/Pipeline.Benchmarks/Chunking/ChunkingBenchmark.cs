using System.Diagnostics;
using System.Security.Cryptography;
using Pipeline.Chunking;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Benchmarks.Chunking;

/// <summary>
/// Chunking speed on one core: the chunker alone and with SHA-256 per chunk over pseudo-random
/// data in memory (target 300 MB/s for the chunker), against SHA-256 alone over the same bytes;
/// and the whole server-side pipeline on a GNU tar layer (split, chunk the contents, SHA-256 and
/// zstd each chunk, in memory) against <c>casync make --digest=sha256</c> of the same tar in the
/// same run (which also writes its store to disk).
/// </summary>
public static class ChunkingBenchmark
{
    private const int MiB = 1024 * 1024;
    private const double TargetChunkerMBps = 300;

    public static async Task<int> RunAsync(string[] args)
    {
        int dataMiB = args.Length > 0 && int.TryParse(args[0], out var m) ? m : 256;
        int tarMiB = args.Length > 1 && int.TryParse(args[1], out var t) ? t : 128;
        var data = new byte[dataMiB * MiB];
        new Random(1).NextBytes(data);
        Console.WriteLine($"chunking benchmark: {dataMiB} MiB pseudo-random in memory, then a {tarMiB} MiB GNU tar; one thread; sizes {ChunkSizes.Default.Min}/{ChunkSizes.Default.Avg}/{ChunkSizes.Default.Max}");

        // Warm-up so tiered JIT has compiled the loops before anything is timed.
        ChunkOnly(data.AsSpan(0, 16 * MiB));
        ChunkAndHash(data.AsSpan(0, 16 * MiB));

        var chunkOnly = Best(() => ChunkOnly(data));
        var chunkAndHash = Best(() => ChunkAndHash(data));
        var hashOnly = Best(() => SHA256.HashData(data));
        double chunkerMBps = MBps(data.Length, chunkOnly);
        Console.WriteLine($"  chunker alone:          {chunkerMBps,8:0} MB/s  (target >= {TargetChunkerMBps:0}: {(chunkerMBps >= TargetChunkerMBps ? "met" : "MISSED")})");
        Console.WriteLine($"  chunker + SHA-256:      {MBps(data.Length, chunkAndHash),8:0} MB/s");
        Console.WriteLine($"  SHA-256 alone (peer):   {MBps(data.Length, hashOnly),8:0} MB/s  -> chunker + SHA-256 runs at {hashOnly / chunkAndHash:0.00}x the speed of hashing alone");

        using var dir = new TempDirectory();
        var tree = Path.Combine(dir.Path, "tree");
        WriteTree(tree, tarMiB);
        var tar = Path.Combine(dir.Path, "layer.tar");
        await ProcessRunner.RunAsync("tar", ["--format=gnu", "--sort=name", "-C", tree, "-cf", tar, "."]);
        var tarBytes = new FileInfo(tar).Length;

        var pipeline = await PipelineAsync(tar);
        Console.WriteLine($"  pipeline (split, chunk, SHA-256, zstd): {MBps(tarBytes, pipeline.Elapsed),8:0} MB/s  ({pipeline.Chunks} chunks, {pipeline.Compressed / (double)MiB:0.0} MiB compressed, headers {pipeline.Headers / 1024.0:0.0} KiB)");

        var store = Path.Combine(dir.Path, "casync-store");
        var sw = Stopwatch.StartNew();
        var result = await ProcessRunner.RunAsync("casync", ["make", "--digest=sha256", $"--store={store}", Path.Combine(dir.Path, "x.caibx"), tar], checkExitCode: false);
        sw.Stop();
        if (result.ExitCode == 0)
        {
            Console.WriteLine($"  casync make (peer, writes its store): {MBps(tarBytes, sw.Elapsed),8:0} MB/s  -> pipeline at {sw.Elapsed / pipeline.Elapsed:0.00}x casync's speed");
        }
        else
        {
            Console.WriteLine($"  casync make failed ({result.ExitCode}): {result.StdErr.Trim()}");
        }
        return chunkerMBps >= TargetChunkerMBps ? 0 : 1;
    }

    private static int ChunkOnly(ReadOnlySpan<byte> data)
    {
        var chunker = new Chunker(ChunkSizes.Default);
        int chunks = 0;
        while (!data.IsEmpty)
        {
            int cut = chunker.FindCut(data);
            if (cut < 0)
            {
                break;
            }
            chunks++;
            data = data[cut..];
        }
        return chunks + 1;
    }

    private static int ChunkAndHash(ReadOnlySpan<byte> data)
    {
        var chunker = new Chunker(ChunkSizes.Default);
        int chunks = 0;
        while (!data.IsEmpty)
        {
            int cut = chunker.FindCut(data);
            var chunk = cut < 0 ? data : data[..cut];
            ChunkId.Compute(chunk);
            chunks++;
            data = data[chunk.Length..];
        }
        return chunks;
    }

    private sealed record PipelineRun(TimeSpan Elapsed, int Chunks, long Compressed, long Headers);

    private static async Task<PipelineRun> PipelineAsync(string tar)
    {
        using var codec = new ChunkCodec();
        int chunks = 0;
        long compressed = 0;
        var sw = Stopwatch.StartNew();
        await using var input = new FileStream(tar, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var contents = new ChunkingStream(ChunkSizes.Default, chunk =>
        {
            ChunkId.Compute(chunk);
            compressed += codec.Compress(chunk).Length;
            chunks++;
        });
        using var headers = new MemoryStream();
        await TarSplit.SplitAsync(input, contents, headers);
        contents.Complete();
        sw.Stop();
        return new PipelineRun(sw.Elapsed, chunks, compressed, headers.Length);
    }

    /// <summary>Files of 1 KiB to 4 MiB, half random, half repetitive text, so zstd has real work either way.</summary>
    private static void WriteTree(string root, int totalMiB)
    {
        var random = new Random(2);
        long left = (long)totalMiB * MiB;
        for (int i = 0; left > 0; i++)
        {
            int size = (int)Math.Min(left, random.Next(1024, 4 * MiB));
            var bytes = new byte[size];
            if (i % 2 == 0)
            {
                random.NextBytes(bytes);
            }
            else
            {
                for (int j = 0; j < size; j++)
                {
                    bytes[j] = (byte)"the quick brown fox jumps over the lazy dog 0123456789\n"[(j + (j / 4096 * 7)) % 55];
                }
            }
            var path = Path.Combine(root, $"d{i % 17}", $"file{i}.bin");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            left -= size;
        }
    }

    private static TimeSpan Best(Action run)
    {
        var best = TimeSpan.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            sw.Stop();
            best = sw.Elapsed < best ? sw.Elapsed : best;
        }
        return best;
    }

    private static TimeSpan Best(Func<object> run) => Best(() => { run(); });

    private static double MBps(long bytes, TimeSpan elapsed) => bytes / 1e6 / elapsed.TotalSeconds;

    private sealed class TempDirectory : IDisposable
    {
        public TempDirectory()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "chunking-bench-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
