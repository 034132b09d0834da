using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Pipeline.Chunking;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Benchmarks.Deltas;

/// <summary>
/// What a device downloads for a layer update with chunk deltas, against the changed layer's
/// compressed size (the layer-level delta) in the same run, on real GNU tar layers: a realistic
/// app update (a few files changed, one added, one removed in a ~10 MB layer of 2,000 files), the
/// same update rebuilt with every mtime changed (and, as a peer, chunking the whole tar instead
/// of its contents), and an unrelated image. The bytes are what the plan tells the device to
/// fetch: the index, the headers stream, the pack table and the frames of chunks its seeds lack;
/// when that is over half the layer, the plan offers the whole layer instead. Also the time to
/// index a 400 MiB layer (decompress, split, chunk, hash, compress) against gunzip alone.
/// </summary>
public static class DeltaBenchmark
{
    private const int MiB = 1024 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        int bigMiB = args.Length > 0 && int.TryParse(args[0], out var b) ? b : 400;
        string root = Path.Combine(Path.GetTempPath(), "delta-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            var t1 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            string v1 = Tree(Path.Combine(root, "v1"), seed: 1, t1);
            string v2 = Copy(v1, Path.Combine(root, "v2"));
            Update(v2, t1.AddDays(1));
            string v2m = Copy(v2, Path.Combine(root, "v2m"));
            foreach (var f in Directory.EnumerateFileSystemEntries(v2m, "*", SearchOption.AllDirectories))
            {
                File.SetLastWriteTimeUtc(f, t1.AddDays(30));
            }
            string other = Tree(Path.Combine(root, "other"), seed: 99, t1);

            var l1 = await LayerAsync(v1, root, "v1");
            var l2 = await LayerAsync(v2, root, "v2");
            var l2m = await LayerAsync(v2m, root, "v2m");
            var lo = await LayerAsync(other, root, "other");
            Console.WriteLine($"delta benchmark: layers of {Directory.EnumerateFiles(v1, "*", SearchOption.AllDirectories).Count()} files, v1 tar {l1.Tar / (double)MiB:0.0} MiB, gzip {l1.Gzip / (double)MiB:0.00} MiB; chunks {ChunkSizes.Default.Min / 1024}/{ChunkSizes.Default.Avg / 1024}/{ChunkSizes.Default.Max / 1024} KiB");

            Report("app update (3 changed, 1 added, 1 removed)", l2, l1, goal: 20, aim: 50);
            Report("same update, every mtime changed", l2m, l1, goal: 10, aim: 20);
            var wholeTar = WholeTarDelta(l2m, l1);
            Console.WriteLine($"  peer: chunking the whole tar (headers inside chunks), mtimes changed: {wholeTar:N0} bytes = 1/{l2m.Gzip / (double)wholeTar:0.0} of the layer");
            long unrelated = Plan(lo, l1);
            Console.WriteLine($"  unrelated image: device downloads {unrelated:N0} bytes vs layer-level {lo.Gzip:N0} ({(unrelated - lo.Gzip) * 100.0 / lo.Gzip:+0.0;-0.0} %, limit +2 %: {(unrelated <= lo.Gzip * 1.02 ? "met" : "MISSED")})");

            // Indexing a large layer against decompressing it alone.
            string big = Path.Combine(root, "big");
            Directory.CreateDirectory(big);
            var random = new Random(5);
            var buffer = new byte[4 * MiB];
            for (int i = 0; i < bigMiB / 4; i++)
            {
                random.NextBytes(buffer);
                await File.WriteAllBytesAsync(Path.Combine(big, $"blob{i:D3}.bin"), buffer);
            }
            var lb = await LayerAsync(big, root, "big", keepFiles: true);
            var gunzip = Stopwatch.StartNew();
            await using (var gz = new GZipStream(File.OpenRead(lb.GzipPath!), CompressionMode.Decompress))
            {
                await gz.CopyToAsync(Stream.Null);
            }
            gunzip.Stop();
            Console.WriteLine($"  indexing a {lb.Tar / (double)MiB:0} MiB layer (gunzip, split, chunk, SHA-256, zstd): {lb.IndexTime.TotalSeconds:0.00} s, {lb.Tar / 1e6 / lb.IndexTime.TotalSeconds:0} MB/s; gunzip alone (peer) {gunzip.Elapsed.TotalSeconds:0.00} s -> {lb.IndexTime / gunzip.Elapsed:0.0}x");
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void Report(string what, Layer target, Layer seeds, double goal, double aim)
    {
        long bytes = Plan(target, seeds);
        double ratio = target.Gzip / (double)bytes;
        Console.WriteLine($"  {what}: device downloads {bytes:N0} bytes (index {target.Index:N0}, headers {target.Headers:N0}, table {target.Table:N0}, {target.Ids.Length - target.Ids.Count(seeds.IdSet.Contains)} new of {target.Ids.Length} chunks) vs the changed layer {target.Gzip:N0}: 1/{ratio:0.0} (target 1/{goal:0}: {(ratio >= goal ? "met" : "MISSED")}, aim 1/{aim:0})");
    }

    /// <summary>What the plan tells a device holding <paramref name="seeds"/> to fetch for <paramref name="target"/>.</summary>
    private static long Plan(Layer target, Layer seeds)
    {
        var have = new HashSet<ChunkId>(seeds.Ids);
        long bytes = target.Index + target.Headers + target.Table;
        for (int i = 0; i < target.Ids.Length; i++)
        {
            if (have.Add(target.Ids[i]))
            {
                bytes += target.Frames[i];
            }
        }
        return bytes * 2 > target.Gzip ? target.Gzip : bytes;
    }

    private static long WholeTarDelta(Layer target, Layer seeds)
    {
        var have = new HashSet<ChunkId>(seeds.TarIds);
        long bytes = 0;
        for (int i = 0; i < target.TarIds.Length; i++)
        {
            if (have.Add(target.TarIds[i]))
            {
                bytes += target.TarFrames[i];
            }
        }
        return bytes + target.TarIds.Length * 40L;
    }

    private sealed record Layer(long Tar, long Gzip, long Index, long Headers, long Table, ChunkId[] Ids, long[] Frames, ChunkId[] TarIds, long[] TarFrames, TimeSpan IndexTime, string? GzipPath)
    {
        public HashSet<ChunkId> IdSet { get; } = [.. Ids];
    }

    private static async Task<Layer> LayerAsync(string tree, string root, string name, bool keepFiles = false)
    {
        string tar = Path.Combine(root, name + ".tar");
        await ProcessRunner.RunAsync("tar", ["--format=pax", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--pax-option=delete=atime,delete=ctime", "-C", tree, "-cf", tar, "."]);
        string gz = tar + ".gz";
        await ProcessRunner.RunAsync("gzip", ["-n", "-k", "-6", tar]);
        long tarSize = new FileInfo(tar).Length;
        long gzSize = new FileInfo(gz).Length;

        // The server's pipeline, as LayerIndexer runs it: gunzip, split, chunk the contents, hash and compress each chunk.
        var ids = new List<ChunkId>();
        var frames = new List<long>();
        using var codec = new ChunkCodec();
        var indexBytes = new MemoryStream();
        var writer = new CaibxWriter(indexBytes, ChunkSizes.Default);
        var headers = new MemoryStream();
        var sw = Stopwatch.StartNew();
        await using (var input = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress))
        await using (var zstd = new ZstdSharp.CompressionStream(headers, 19, leaveOpen: true))
        {
            var chunking = new ChunkingStream(ChunkSizes.Default, chunk =>
            {
                var id = ChunkId.Compute(chunk);
                ids.Add(id);
                frames.Add(codec.Compress(chunk).Length);
                writer.Add(id, chunk.Length);
            });
            await TarSplit.SplitAsync(input, chunking, zstd);
            chunking.Complete();
            writer.Complete();
        }
        sw.Stop();

        // The peer: the whole tar chunked as one stream.
        var tarIds = new List<ChunkId>();
        var tarFrames = new List<long>();
        if (!keepFiles)
        {
            var whole = new ChunkingStream(ChunkSizes.Default, chunk =>
            {
                tarIds.Add(ChunkId.Compute(chunk));
                tarFrames.Add(codec.Compress(chunk).Length);
            });
            await using (var input = File.OpenRead(tar))
            {
                await input.CopyToAsync(whole);
            }
            whole.Complete();
        }
        File.Delete(tar);
        if (!keepFiles)
        {
            File.Delete(gz);
        }
        return new Layer(tarSize, gzSize, indexBytes.Length, headers.Length, ids.Count * 4L, [.. ids], [.. frames], [.. tarIds], [.. tarFrames], sw.Elapsed, keepFiles ? gz : null);
    }

    private static readonly string[] Words = "the device gateway service config route packet modbus sensor value update window health check log level retry timeout buffer queue stream frame header payload".Split(' ');

    /// <summary>2,000 files in 20 folders, ~10 MB: text-like sources and configs, and some binaries.</summary>
    private static string Tree(string root, int seed, DateTime mtime)
    {
        var random = new Random(seed);
        for (int i = 0; i < 2000; i++)
        {
            string path = Path.Combine(root, $"app/mod{i / 100:D2}/file{i:D4}" + (i % 5 == 0 ? ".so" : ".py"));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, Content(random, i % 5 == 0, 1_000 + random.Next(9_000)));
            File.SetLastWriteTimeUtc(path, mtime);
        }
        return root;
    }

    private static byte[] Content(Random random, bool binary, int size)
    {
        if (binary)
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            return bytes;
        }
        var text = new StringBuilder(size + 64);
        while (text.Length < size)
        {
            text.Append(Words[random.Next(Words.Length)]).Append(random.Next(10) == 0 ? '\n' : ' ');
        }
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>The app update: three files of one folder edited, one file removed elsewhere, one added.</summary>
    private static void Update(string root, DateTime mtime)
    {
        var random = new Random(1234);
        foreach (int i in new[] { 411, 412, 413 })
        {
            string path = Path.Combine(root, $"app/mod04/file{i:D4}" + (i % 5 == 0 ? ".so" : ".py"));
            var bytes = File.ReadAllBytes(path);
            var edited = bytes.Take(bytes.Length / 2).Concat(Encoding.ASCII.GetBytes("\n# patched: retry on timeout\n")).Concat(bytes.Skip(bytes.Length / 2)).ToArray();
            File.WriteAllBytes(path, edited);
            File.SetLastWriteTimeUtc(path, mtime);
        }
        File.Delete(Path.Combine(root, "app/mod15/file1507.py"));
        string added = Path.Combine(root, "app/mod19/plugin_new.py");
        File.WriteAllBytes(added, Content(random, false, 6_000));
        File.SetLastWriteTimeUtc(added, mtime);
    }

    private static string Copy(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            File.SetLastWriteTimeUtc(target, File.GetLastWriteTimeUtc(file));
        }
        return to;
    }
}
