using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Pipeline.Fleet;
using Pipeline.Oci;
using Pipeline.Snapshots;
using Pipeline.Storage;
using Pipeline.Tests.Api;
using Pipeline.Tests.Api.Devices;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;
using Spectre.Console;

namespace Pipeline.Benchmarks.Devices;

/// <summary>
/// Device plans through LocalHost on a fresh Azurite, for a 3-arch version of 20 layers per arch
/// and devices that hold 10 of their arch's layers: the first plan of a fresh process (cold), then
/// 1,000 plans one at a time and 1,000 with 32 in flight (warm), next to the peer a plan cannot
/// beat, its own three storage reads made from this process; the storage round trips a plan costs,
/// counted in Azurite's request log; and what a device moving to a version with one changed layer
/// downloads, against a full pull of that version.
/// </summary>
public sealed partial class PlanBenchmark : IDisposable
{
    /// <summary>
    /// Latency is measured, not the rate limits: six devices asking thousands of plans would
    /// otherwise be stopped by their per-device buckets.
    /// </summary>
    private static readonly Dictionary<string, string?> Unlimited = new()
    {
        ["Pipeline__Limits__DeviceRequestsPerSecond"] = "100000",
        ["Pipeline__Limits__DeviceBurst"] = "100000",
    };

    private const string Customer = "planbench";
    private const int LayersPerArch = 20;
    private const int HeldLayers = 10;
    private const int DevicesPerArch = 2;
    private const int WarmupPlans = 50;
    private const int MeasuredPlans = 1000;
    private const int InFlight = 32;
    private const int CountedPlans = 100;
    private const double TargetP99Ms = 50;
    private const long ConfigBytes = 6_400;
    private const double MiB = 1024 * 1024;

    private readonly ApiClient _api;
    private readonly DeviceClient _devices;
    private readonly FleetSeed _seed;
    private readonly string _apiKey;

    private PlanBenchmark(ApiClient api, DeviceClient devices, FleetSeed seed, string apiKey) =>
        (_api, _devices, _seed, _apiKey) = (api, devices, seed, apiKey);

    private sealed record OnDevice(string Arch, string DeviceId, string Key, string InstanceId, string NodeServiceId, IReadOnlyList<string> Have);

    private sealed record Run(string Label, double[] Ms, int Errors, TimeSpan Wall)
    {
        /// <summary>Nearest-rank percentile.</summary>
        public double Percentile(double p)
        {
            var sorted = Ms.Order().ToArray();
            return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
        }
    }

    public static async Task<int> RunAsync(string[] args)
    {
        // Spectre lays tables out for 80 columns when it cannot see a terminal (bench.sh piped to a file).
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 120;
        }
        var whole = Stopwatch.StartNew();
        Console.WriteLine($"plan benchmark: a version of amd64, arm64 and armhf, {LayersPerArch} layers each; every device holds {HeldLayers} layers of its arch");
        int failures = 0;
        await using (var azurite = await AzuriteFixture.StartAsync())
        {
            await using var host = await LocalHostProcess.StartAsync(azurite, insecureHosts: "", extraEnvironment: Unlimited);
            using var bench = await OnAsync(host, azurite.ConnectionString);
            failures += await bench.MeasureLatencyAsync(host.Pid);
            failures += await bench.MeasureUpgradeAsync();
        }
        failures += await CountRoundTripsAsync();
        Console.WriteLine($"  whole benchmark: {whole.Elapsed.TotalSeconds:F0} s");
        return failures == 0 ? 0 : 1;
    }

    private static async Task<PlanBenchmark> OnAsync(LocalHostProcess host, string storage)
    {
        var api = new ApiClient(host.BaseUri);
        string key = await api.CreateKeyAsync(LocalHostProcess.AdminKey, Customer, "deploy", "read");
        return new PlanBenchmark(api, new DeviceClient(host.BaseUri), new FleetSeed(storage), key);
    }

    private async Task<int> MeasureLatencyAsync(int hostPid)
    {
        var (service, versions) = await SeedAsync("latency", 1);
        var devices = await AddDevicesAsync(service, versions[0], DevicesPerArch, HeldOf);
        Console.WriteLine($"  {devices.Count} devices ({DevicesPerArch} per arch), each with an instance; requests go to them in turn");

        // The first plan this LocalHost serves; it has answered only the set-up's GraphQL calls.
        var (coldMs, coldAnswer) = await PlanAsync(devices[0]);
        int blobs = coldAnswer.Expect(HttpStatusCode.OK).GetProperty("blobs").GetArrayLength();
        int failures = blobs == 1 + LayersPerArch - HeldLayers ? 0 : 1;
        Console.WriteLine($"  cold plan lists {blobs} blobs to download (config and {LayersPerArch - HeldLayers} layers expected)");

        await MeasureAsync("warm-up", WarmupPlans, 1, i => TimePlanAsync(devices[i % devices.Count]));
        // The peer warms up too: its first reads of each table also create the table in this process.
        await MeasureAsync("warm-up", WarmupPlans, 1, i => TimeStorageReadsAsync(devices[i % devices.Count]));
        Console.WriteLine($"  {WarmupPlans} warm-up plans; LocalHost settled after {await WaitUntilSettledAsync(hostPid):F0} s");
        var sequential = await MeasureAsync("warm plan, 1 at a time", MeasuredPlans, 1, i => TimePlanAsync(devices[i % devices.Count]));
        var concurrent = await MeasureAsync($"warm plan, {InFlight} in flight", MeasuredPlans, InFlight, i => TimePlanAsync(devices[i % devices.Count]));
        var readsSequential = await MeasureAsync("its 3 reads, 1 at a time", MeasuredPlans, 1, i => TimeStorageReadsAsync(devices[i % devices.Count]));
        var readsConcurrent = await MeasureAsync($"its 3 reads, {InFlight} in flight", MeasuredPlans, InFlight, i => TimeStorageReadsAsync(devices[i % devices.Count]));
        var cold = new Run("cold plan (first call)", [coldMs], coldAnswer.Status == HttpStatusCode.OK ? 0 : 1, TimeSpan.FromMilliseconds(coldMs));

        Console.WriteLine("  peer: a plan's own 3 storage reads (device and instance in parallel, then node service), made from this process with the SDK");
        var table = new Table().Title("plan latency, ms, request sent to answer parsed");
        table.AddColumn("run");
        foreach (string column in new[] { "calls", "p50", "p99", "mean", "max", "per s", "errors" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }
        foreach (var run in new[] { cold, sequential, concurrent, readsSequential, readsConcurrent })
        {
            table.AddRow(run.Label, $"{run.Ms.Length}", $"{run.Percentile(50):F2}", $"{run.Percentile(99):F2}", $"{run.Ms.Average():F2}", $"{run.Ms.Max():F2}",
                run.Ms.Length == 1 ? "" : $"{run.Ms.Length / run.Wall.TotalSeconds:F0}", $"{run.Errors}");
        }
        AnsiConsole.Write(table);

        double p99 = sequential.Percentile(99);
        Console.WriteLine($"RESULT cold plan (the first a fresh LocalHost serves, after only the set-up's GraphQL calls) = {coldMs:F1} ms");
        Console.WriteLine($"RESULT warm plan p99, 1 at a time = {p99:F2} ms (target < {TargetP99Ms:F0} ms: {(p99 < TargetP99Ms ? "met" : "NOT met")}); p50 = {sequential.Percentile(50):F2} ms");
        Console.WriteLine($"RESULT warm plan p99, {InFlight} in flight = {concurrent.Percentile(99):F2} ms; p50 = {concurrent.Percentile(50):F2} ms; {concurrent.Ms.Length / concurrent.Wall.TotalSeconds:F0} plans/s");
        Console.WriteLine($"RESULT plan / its 3 storage reads, p50: 1 at a time = {sequential.Percentile(50) / readsSequential.Percentile(50):F2}, {InFlight} in flight = {concurrent.Percentile(50) / readsConcurrent.Percentile(50):F2}");
        return failures + sequential.Errors + concurrent.Errors + readsSequential.Errors + readsConcurrent.Errors + cold.Errors;
    }

    private async Task<int> MeasureUpgradeAsync()
    {
        var (service, versions) = await SeedAsync("upgrade", 2);
        var devices = await AddDevicesAsync(service, versions[0], 1, arch => arch.Layers.Prepend(arch.Config));
        var table = new Table().Title("a device holding all of version 1 asks for the plan of version 2 (top layer and config changed)");
        table.AddColumn("arch");
        foreach (string column in new[] { "blobs", "bytes_to_download", "bytes_total (full pull)", "ratio", "new layer + config" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }
        long toDownload = 0, total = 0;
        int failures = 0;
        foreach (var device in devices)
        {
            var plan = (await _devices.PlanAsync(device.Key, device.DeviceId, device.InstanceId, device.Have)).Expect(HttpStatusCode.OK);
            var v2 = versions[1].Architectures.Single(a => a.Arch == device.Arch);
            long download = plan.GetProperty("bytes_to_download").GetInt64();
            long full = plan.GetProperty("bytes_total").GetInt64();
            var listed = plan.GetProperty("blobs").EnumerateArray().Select(b => b.GetProperty("digest").GetString()).ToList();
            bool exact = plan.GetProperty("container_version").GetInt32() == 2
                && download == v2.Config.Size + v2.Layers[^1].Size
                && listed.SequenceEqual([v2.Config.Digest.ToString(), v2.Layers[^1].Digest.ToString()]);
            failures += exact ? 0 : 1;
            toDownload += download;
            total += full;
            table.AddRow(device.Arch, $"{listed.Count}", $"{download:N0} ({download / MiB:F1} MiB)", $"{full:N0} ({full / MiB:F1} MiB)",
                $"{(double)download / full:F4}", exact ? "exactly" : "NOT exactly");
        }
        AnsiConsole.Write(table);
        Console.WriteLine($"RESULT upgrade with one changed layer per arch: bytes_to_download = {toDownload:N0} ({toDownload / MiB:F1} MiB) of a full pull of {total:N0} ({total / MiB:F1} MiB), ratio {(double)toDownload / total:F4} (3 archs; lxc.env and manifests not counted in either)");
        return failures;
    }

    /// <summary>
    /// The plan's storage round trips, counted in Azurite's debug log. The fixture's Azurite runs
    /// silent, and the log costs Azurite a file write of some forty lines a request, so it gets an
    /// Azurite and a LocalHost of its own, and no latency is taken here.
    /// </summary>
    private static async Task<int> CountRoundTripsAsync()
    {
        string folder = Directory.CreateTempSubdirectory("plan-bench-azurite-").FullName;
        try
        {
            string requestLog = Path.Combine(folder, "debug.log");
            var azurite = await AzuriteFixture.StartAsync(["--debug", requestLog]);
            string storage = azurite.ConnectionString;
            int tablePort = azurite.TablePort;
            await using (azurite)
            {
                await using var host = await LocalHostProcess.StartAsync(storage, insecureHosts: "", extraEnvironment: Unlimited);
                using var bench = await OnAsync(host, storage);
                var (service, versions) = await bench.SeedAsync("trips", 1);
                var devices = await bench.AddDevicesAsync(service, versions[0], 1, HeldOf);
                using var marks = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{tablePort}") };
                Console.WriteLine($"  storage round trips: second Azurite with --debug {requestLog}, second LocalHost (task hub {host.TaskHub})");

                var cold = await RequestsDuringAsync(marks, requestLog, () => MeasureAsync("cold", 1, 1, _ => bench.TimePlanAsync(devices[0])));
                await MeasureAsync("warm-up", WarmupPlans, 1, i => bench.TimePlanAsync(devices[i % devices.Count]));
                var warm = await RequestsDuringAsync(marks, requestLog, () => MeasureAsync("warm", CountedPlans, 1, i => bench.TimePlanAsync(devices[i % devices.Count])));

                var table = new Table().Title("requests Azurite logged while the plans ran (resource, operation)");
                table.AddColumn("requests");
                table.AddColumn(new TableColumn("first plan").RightAligned());
                table.AddColumn(new TableColumn($"{CountedPlans} warm plans").RightAligned());
                table.AddColumn(new TableColumn("per warm plan").RightAligned());
                foreach (string kind in cold.Keys.Union(warm.Keys).Order(StringComparer.Ordinal))
                {
                    int w = warm.GetValueOrDefault(kind);
                    table.AddRow(Markup.Escape(kind), $"{cold.GetValueOrDefault(kind)}", $"{w}", $"{(double)w / CountedPlans:F2}");
                }
                AnsiConsole.Write(table);
                int coldPlan = PlanRequests(cold, host.TaskHub), warmPlan = PlanRequests(warm, host.TaskHub);
                Console.WriteLine($"RESULT storage round trips per plan (counted in Azurite's log; the durable task hub's polling in the same windows left out): cold first plan = {coldPlan}, warm = {(double)warmPlan / CountedPlans:F2} ({warmPlan} over {CountedPlans} plans)");
                return 0;
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Requests of the catalog (tables other than the task hub's, and the snapshots container): what the plans cost.</summary>
    private static int PlanRequests(Dictionary<string, int> requests, string taskHub) =>
        requests.Where(r => (r.Key.StartsWith("table ", StringComparison.Ordinal) && !r.Key.StartsWith("table " + taskHub, StringComparison.OrdinalIgnoreCase))
            || r.Key.StartsWith("blob " + PipelineStorage.SnapshotsContainer + " ", StringComparison.Ordinal)).Sum(r => r.Value);

    /// <summary>
    /// The requests Azurite logged while <paramref name="work"/> ran, by service, resource and
    /// operation. A marker request before and after bounds the window: Azurite writes its log
    /// asynchronously, and once the end marker is written so is every request that came before it.
    /// </summary>
    private static async Task<Dictionary<string, int>> RequestsDuringAsync(HttpClient marks, string requestLog, Func<Task> work)
    {
        string id = Guid.NewGuid().ToString("N")[..12];
        (await marks.GetAsync($"/{AzuriteFixture.AccountName}/markstart{id}()")).Dispose();
        await work();
        (await marks.GetAsync($"/{AzuriteFixture.AccountName}/markend{id}()")).Dispose();
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var requests = new Dictionary<string, string>(StringComparer.Ordinal);
            bool inside = false;
            foreach (string line in ReadShared(requestLog))
            {
                var m = LoggedRequest().Match(line);
                if (!m.Success)
                {
                    continue;
                }
                string resource = m.Groups["resource"].Value;
                if (resource == "markstart" + id)
                {
                    inside = true;
                }
                else if (resource == "markend" + id)
                {
                    return requests.Values.GroupBy(k => k, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
                }
                else if (inside)
                {
                    // Keyed by Azurite's request id: a request is counted once however many lines it logs.
                    requests[m.Groups["id"].Value] = $"{m.Groups["service"].Value.ToLowerInvariant()} {resource} {Operation(m.Groups["method"].Value, m.Groups["rest"].Value)}";
                }
            }
            if (waited.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new TimeoutException($"The end marker did not appear in {requestLog}.");
            }
            await Task.Delay(200);
        }
    }

    private static string Operation(string method, string rest) => method switch
    {
        "GET" when rest.StartsWith("(PartitionKey=", StringComparison.Ordinal) => "point read",
        "GET" => "GET (query/list)",
        _ => method,
    };

    [GeneratedRegex(@"^\S+ (?<id>\S+) info: (?<service>Blob|Queue|Table)StorageContextMiddleware: RequestMethod=(?<method>\S+) RequestURL=\S*?/devstoreaccount1/(?<resource>[^/?(\s]*)(?<rest>\S*)")]
    private static partial Regex LoggedRequest();

    private static IEnumerable<string> ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    /// <summary>Layers 0, 2, 4, …: what a device that ran another image on the same base might hold.</summary>
    private static IEnumerable<Descriptor> HeldOf(ArchSnapshot arch) => arch.Layers.Where((_, i) => i % 2 == 0).Take(HeldLayers);

    /// <summary>
    /// A node service with versions 1..<paramref name="versions"/> of three archs, written as an
    /// import lands one: the version records first, then the service naming the latest.
    /// </summary>
    private async Task<(NodeService Service, IReadOnlyList<SnapshotRecord> Versions)> SeedAsync(string name, int versions)
    {
        string id = Ids.NodeServiceId(Customer, name);
        var records = new List<SnapshotRecord>();
        for (int v = 1; v <= versions; v++)
        {
            var archs = Architectures.All.Select((arch, a) => ArchOf(id, arch, a, v)).ToList();
            var record = new SnapshotRecord(v, id, "imp_bench", DateTimeOffset.UtcNow, archs, ServiceSettings.Empty, NodeServiceNetwork.None,
                Blob("text/plain", $"{id}/env", 300));
            if (!await _seed.Versions.TryAddAsync(record, CancellationToken.None))
            {
                throw new InvalidOperationException($"Version {v} of {name} exists already.");
            }
            records.Add(record);
        }
        var service = new NodeService(Customer, id, name, versions, $"registry.test/{name}:{versions}", Architectures.All);
        if (!await _seed.Services.TrySaveAsync(service, default, CancellationToken.None))
        {
            throw new InvalidOperationException($"Node service {name} exists already.");
        }
        return (service, records);
    }

    /// <summary>
    /// One arch of a version. Layer sizes are fixed per arch; the top layer (the application, what
    /// a rebuild changes) and so the config differ in every version. Digests are of names, not of
    /// bytes: a plan takes digests and sizes from the record and never reads a blob.
    /// </summary>
    private static ArchSnapshot ArchOf(string serviceId, string arch, int archIndex, int version)
    {
        long[] sizes = LayerSizes(archIndex + 1);
        var layers = sizes.Select((size, i) => i < sizes.Length - 1
            ? Blob(MediaTypes.OciLayerGzip, $"{serviceId}/{arch}/layer{i}", size)
            : Blob(MediaTypes.OciLayerGzip, $"{serviceId}/{arch}/layer{i}/v{version}", size + version * 4096)).ToList();
        return new ArchSnapshot(arch, $"registry.test/bench:{version}", Blob(MediaTypes.OciManifest, $"{serviceId}/{arch}/{version}/manifest", 3_600),
            Blob(MediaTypes.OciConfig, $"{serviceId}/{arch}/{version}/config", ConfigBytes + version), layers);
    }

    /// <summary>20 sizes from 1 to 40 MiB, log-uniform (many small layers, a few big ones), about 200 MiB in all.</summary>
    private static long[] LayerSizes(int seed)
    {
        var random = new Random(seed);
        double[] raw = Enumerable.Range(0, LayersPerArch).Select(_ => Math.Exp(random.NextDouble() * Math.Log(40))).ToArray();
        double scale = 200 / raw.Sum();
        return raw.Select(r => (long)(Math.Clamp(r * scale, 1, 40) * MiB)).ToArray();
    }

    private static Descriptor Blob(string mediaType, string name, long size) => new(mediaType, Digest.Compute(Encoding.UTF8.GetBytes(name)), size);

    /// <summary>Registers devices and adds each an instance through the GraphQL API, <paramref name="perArch"/> per arch, arches alternating.</summary>
    private async Task<List<OnDevice>> AddDevicesAsync(NodeService service, SnapshotRecord heldFrom, int perArch, Func<ArchSnapshot, IEnumerable<Descriptor>> held)
    {
        var devices = new List<OnDevice>();
        for (int i = 0; i < perArch; i++)
        {
            foreach (var arch in heldFrom.Architectures)
            {
                string deviceId = $"{service.Name}-{arch.Arch}-{i}";
                string key = await _api.RegisterDeviceOkAsync(_apiKey, Customer, deviceId, arch.Arch);
                string instance = (await _api.AddInstanceOkAsync(_apiKey, service.NodeServiceId, deviceId)).Str("node_service_instance_id");
                devices.Add(new OnDevice(arch.Arch, deviceId, key, instance, service.NodeServiceId, held(arch).Select(d => d.Digest.ToString()).ToList()));
            }
        }
        return devices;
    }

    private async Task<(double Ms, DeviceAnswer Answer)> PlanAsync(OnDevice device)
    {
        long start = Stopwatch.GetTimestamp();
        var answer = await _devices.PlanAsync(device.Key, device.DeviceId, device.InstanceId, device.Have);
        return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, answer);
    }

    private async Task<(double Ms, bool Ok)> TimePlanAsync(OnDevice device)
    {
        var (ms, answer) = await PlanAsync(device);
        return (ms, answer.Status == HttpStatusCode.OK);
    }

    /// <summary>The reads a plan makes, in the same order, straight from this process: the floor a plan stands on.</summary>
    private async Task<(double Ms, bool Ok)> TimeStorageReadsAsync(OnDevice device)
    {
        long start = Stopwatch.GetTimestamp();
        var deviceRead = _seed.Devices.GetAsync(device.DeviceId, CancellationToken.None);
        var instanceRead = _seed.Instances.GetAsync(device.InstanceId, CancellationToken.None);
        var found = await deviceRead;
        var (instance, _) = await instanceRead;
        var (service, _) = await _seed.Services.GetAsync(Customer, device.NodeServiceId, CancellationToken.None);
        return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, found is not null && instance is not null && service is not null);
    }

    /// <summary><paramref name="calls"/> timed calls, <paramref name="inFlight"/> at a time.</summary>
    private static async Task<Run> MeasureAsync(string label, int calls, int inFlight, Func<int, Task<(double Ms, bool Ok)>> call)
    {
        var ms = new double[calls];
        int errors = 0;
        var wall = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, calls), new ParallelOptions { MaxDegreeOfParallelism = inFlight }, async (i, _) =>
        {
            var (elapsed, ok) = await call(i);
            ms[i] = elapsed;
            if (!ok)
            {
                Interlocked.Increment(ref errors);
            }
        });
        return new Run(label, ms, errors, wall.Elapsed);
    }

    /// <summary>
    /// Waits (at most 20 s) until LocalHost uses under a tenth of a core for a second: a fresh
    /// process keeps compiling what it has just run, and the measured plans should meet it settled.
    /// </summary>
    private static async Task<double> WaitUntilSettledAsync(int pid)
    {
        using var process = Process.GetProcessById(pid);
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(20))
        {
            process.Refresh();
            var before = process.TotalProcessorTime;
            await Task.Delay(TimeSpan.FromSeconds(1));
            process.Refresh();
            if ((process.TotalProcessorTime - before).TotalSeconds < 0.1)
            {
                break;
            }
        }
        return waited.Elapsed.TotalSeconds;
    }

    public void Dispose()
    {
        _api.Dispose();
        _devices.Dispose();
    }
}
