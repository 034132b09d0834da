using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Oci;
using Pipeline.Registry;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Benchmarks.Registry;

/// <summary>
/// Pull of a large image (one ~400 MB incompressible layer and a few smaller ones, ~500 MB) from the
/// local CNCF registry to files on disk, through <see cref="IRegistryClient"/> in this process, next
/// to <c>skopeo copy docker://… dir:…</c> of the same image in the same run. Runs alternate; the
/// figures are medians, the ratio is client/skopeo (≤ 1.0: the client is at least as fast), and the
/// client's peak working set is sampled in this process during its pulls.
/// Usage: <c>registry [--runs N] [--layer-mb M]</c>.
/// </summary>
public static class RegistryPullBenchmark
{
    private const int CopyBufferBytes = 1 << 20;

    public static async Task<int> RunAsync(string[] args)
    {
        int runs = IntArg(args, "--runs", 3);
        int layerMb = IntArg(args, "--layer-mb", 400);
        string work = Directory.CreateTempSubdirectory("pipeline-bench-registry-").FullName;
        try
        {
            await using var registry = await RegistryFixture.StartAsync();
            string repository = RegistryFixture.NewRepository("bench");
            Console.WriteLine($"building and pushing a ~{layerMb + 100} MB image to {registry.Host} (umoci + skopeo)...");
            var build = Stopwatch.StartNew();
            var pushed = await TestImages.BuildAndPushAsync(
                registry.Host,
                repository,
                "1",
                [
                    ArchSpec.Amd64(
                        LayerSpec.RandomData((long)layerMb << 20, "data/big.bin"),
                        LayerSpec.RandomData(50L << 20, "data/medium.bin"),
                        LayerSpec.RandomData(30L << 20, "data/small.bin"),
                        LayerSpec.RandomData(20L << 20, "data/tiny.bin")),
                ]);
            var manifest = pushed.For("amd64");
            Console.WriteLine($"image {pushed.Reference}: {manifest.Layers.Count} layers, {manifest.TotalSize / 1e6:0.0} MB, built in {build.Elapsed.TotalSeconds:0.0} s");

            using var services = ClientServices(registry.Host);
            var client = services.GetRequiredService<IRegistryClient>();
            var scope = new PullScope("benchmark", null);
            var reference = ImageReference.Parse(pushed.Reference);

            // Warm-up of both (JIT, registry file cache), not measured.
            await SkopeoAsync(pushed.Reference, Path.Combine(work, "warm-skopeo"));
            await ClientPullAsync(client, reference, scope, Path.Combine(work, "warm-client"));
            Cleanup(work);

            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            long baseline = CurrentWorkingSet();
            var skopeoTimes = new List<double>();
            var clientTimes = new List<double>();
            long peak = baseline;
            for (int run = 1; run <= runs; run++)
            {
                var sw = Stopwatch.StartNew();
                await SkopeoAsync(pushed.Reference, Path.Combine(work, $"skopeo-{run}"));
                skopeoTimes.Add(sw.Elapsed.TotalSeconds);

                using var sampler = new WorkingSetSampler();
                sw.Restart();
                long bytes = await ClientPullAsync(client, reference, scope, Path.Combine(work, $"client-{run}"));
                clientTimes.Add(sw.Elapsed.TotalSeconds);
                peak = Math.Max(peak, sampler.Stop());
                Console.WriteLine(
                    $"run {run}: skopeo {skopeoTimes[^1]:0.00} s, client {clientTimes[^1]:0.00} s ({bytes / 1e6 / clientTimes[^1]:0} MB/s), client peak working set {peak / 1048576.0:0} MB");
                Cleanup(work);
            }

            double skopeo = Median(skopeoTimes);
            double ours = Median(clientTimes);
            Console.WriteLine();
            Console.WriteLine($"image size               {manifest.TotalSize / 1e6:0.0} MB (largest layer {manifest.Layers.Max(l => l.Size) / 1e6:0.0} MB)");
            Console.WriteLine($"skopeo copy (median)     {skopeo:0.00} s  ({manifest.TotalSize / 1e6 / skopeo:0} MB/s)");
            Console.WriteLine($"registry client (median) {ours:0.00} s  ({manifest.TotalSize / 1e6 / ours:0} MB/s)");
            Console.WriteLine($"ratio client/skopeo      {ours / skopeo:0.00}  (target <= 1.00)");
            Console.WriteLine($"client peak working set  {peak / 1048576.0:0} MB  (baseline after GC {baseline / 1048576.0:0} MB; target < 150 MB)");
            Console.WriteLine($"process PeakWorkingSet64 {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:0} MB (whole process lifetime)");
            return ours / skopeo <= 1.0 && peak < 150L << 20 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>What an import does with a resolved image: every layer (and the config) in parallel, streamed to a file.</summary>
    private static async Task<long> ClientPullAsync(IRegistryClient client, ImageReference reference, PullScope scope, string directory)
    {
        Directory.CreateDirectory(directory);
        var image = await client.ResolveAsync(reference, Architectures.Amd64, scope, CancellationToken.None);
        var blobs = image.Layers.Prepend(image.Config).ToList();
        await Parallel.ForEachAsync(blobs, new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (blob, ct) =>
        {
            await using var source = await client.OpenBlobAsync(reference, blob, scope, ct);
            await using var file = new FileStream(Path.Combine(directory, blob.Digest.Hex), new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                BufferSize = 0, // the copy buffer is large already: no second buffer
                PreallocationSize = blob.Size,
                Options = FileOptions.Asynchronous,
            });
            await source.CopyToAsync(file, CopyBufferBytes, ct);
        });
        return blobs.Sum(b => b.Size) + image.Manifest.Size;
    }

    private static Task SkopeoAsync(string reference, string directory) =>
        ProcessRunner.RunAsync(
            "skopeo",
            ["--insecure-policy", "copy", "--quiet", "--src-tls-verify=false", "--src-no-creds", $"docker://{reference}", $"dir:{directory}"],
            timeout: TimeSpan.FromMinutes(10));

    private static ServiceProvider ClientServices(string insecureHost)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Pipeline:Registry:InsecureHosts"] = insecureHost })
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddPipelineRegistry();
        return services.BuildServiceProvider();
    }

    private static long CurrentWorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    private static void Cleanup(string work)
    {
        foreach (string dir in Directory.EnumerateDirectories(work))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static int IntArg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int value) ? value : fallback;
    }

    /// <summary>Samples this process's working set every 5 ms until stopped; returns the highest sample.</summary>
    private sealed class WorkingSetSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<long> _loop;

        public WorkingSetSampler() => _loop = Task.Run(LoopAsync);

        public long Stop()
        {
            _stop.Cancel();
            return _loop.GetAwaiter().GetResult();
        }

        private async Task<long> LoopAsync()
        {
            long peak = 0;
            using var process = Process.GetCurrentProcess();
            while (true)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
                if (_stop.IsCancellationRequested)
                {
                    return peak;
                }
                try
                {
                    await Task.Delay(5, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        public void Dispose() => _stop.Dispose();
    }
}
