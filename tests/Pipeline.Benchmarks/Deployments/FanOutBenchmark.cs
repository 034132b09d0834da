using System.Diagnostics;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Queues;
using Pipeline.Api.Devices;
using Pipeline.Deployments;
using Pipeline.Fleet;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;
using Pipeline.Imports;
using Pipeline.Rollouts;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;
using Spectre.Console;

namespace Pipeline.Benchmarks.Deployments;

/// <summary>
/// A new version told to every instance of a node service on the local queue path, through
/// LocalHost on a fresh Azurite: a fleet of 10,000 instances and one of 1,000 in the same run,
/// each seeded straight into the catalog and moved by an import of tag 2 through a real
/// registry; messages per second end to end, page by page, and next to a peer: the same messages
/// sent from this process with the SDK as the publisher sends them, with no reads, records or
/// orchestration around them; LocalHost's memory and CPU, Azurite's CPU; and the fan-out
/// orchestration's history per generation, which should stay the same whatever the fleet's size.
/// Then the Service Bus batch planner alone, on 100,000 messages.
/// </summary>
public sealed partial class FanOutBenchmark : IDisposable
{
    private const string Customer = "fanbench";
    private const int InstancesPerDevice = 5;
    private const int SeedParallelism = 32;
    private const double TargetPerSecond = 1000;
    private const int PeerMessages = 2_000;
    private static readonly int[] Fleets = [1_000, 10_000];

    private readonly ApiClient _api;
    private readonly string _key;
    private readonly FleetSeed _seed;
    private readonly QueueClient _queue;
    private readonly TableServiceClient _tables;
    private readonly LocalHostProcess _host;
    private readonly AzuriteFixture _azurite;
    private readonly string _image;
    private readonly string _hostLog;

    private FanOutBenchmark(ApiClient api, string key, AzuriteFixture azurite, LocalHostProcess host, string image, string hostLog)
    {
        (_api, _key, _azurite, _host, _image, _hostLog) = (api, key, azurite, host, image, hostLog);
        _seed = new FleetSeed(azurite.ConnectionString);
        _queue = new QueueClient(azurite.ConnectionString, QueueDeploymentPublisher.QueueName);
        _tables = new TableServiceClient(azurite.ConnectionString);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        // Spectre lays tables out for 80 columns when it cannot see a terminal (bench.sh piped to a file).
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 120;
        }
        var whole = Stopwatch.StartNew();
        Console.WriteLine($"fan-out benchmark: version 2 of a 2-arch node service to fleets of {string.Join(" and ", Fleets.Select(f => f.ToString("N0")))} instances ({InstancesPerDevice} per device), local queue path");
        int failures = 0;
        string hostLog = Path.Combine(Path.GetTempPath(), $"fanout-bench-localhost-{Guid.NewGuid():N}.log");
        try
        {
            await using var registry = await RegistryFixture.StartAsync();
            string repository = RegistryFixture.NewRepository("fleet");
            foreach (string tag in new[] { "1", "2" })
            {
                await TestImages.BuildAndPushAsync(registry.Host, repository, tag, [ArchSpec.Amd64(LayerSpec.Text("v", tag)), ArchSpec.Arm64(LayerSpec.Text("v", tag))]);
            }
            await using var azurite = await AzuriteFixture.StartAsync();
            // The durable backend's information lines (inherited by LocalHost) time each page's activity from its start.
            Environment.SetEnvironmentVariable("Logging__LogLevel__DurableTask.AzureStorage", "Information");
            await using var host = await LocalHostProcess.StartAsync(azurite, registry.Host, logPath: hostLog);
            var api = new ApiClient(host.BaseUri);
            string key = await api.CreateKeyAsync(LocalHostProcess.AdminKey, Customer, "import", "read", "deploy");
            using var bench = new FanOutBenchmark(api, key, azurite, host, $"{registry.Host}/{repository}", hostLog);
            Console.WriteLine($"  fresh Azurite, LocalHost (task hub {host.TaskHub}) and registry on 127.0.0.1; image {repository}:1 and :2, one tiny layer per arch");

            var runs = new List<FleetRun>();
            foreach (int size in Fleets)
            {
                runs.Add(await bench.FanOutAsync(size));
            }
            var peer = await bench.PeerSendsAsync(runs[^1].Queue.Bodies.Take(PeerMessages).ToList());
            failures += Report(runs, peer);
            var warnings = ReadShared(hostLog).Where(l => l.Contains(" warn: ", StringComparison.Ordinal) || l.Contains(" fail: ", StringComparison.Ordinal)).ToList();
            Console.WriteLine($"  LocalHost logged {warnings.Count} warnings and errors in the whole run{(warnings.Count > 0 ? "; the last: " + warnings[^1] : "")}");
        }
        finally
        {
            // --log keeps LocalHost's log for a closer look at a slow or failing run.
            if (args.Contains("--log"))
            {
                Console.WriteLine($"  LocalHost's log kept: {hostLog}");
            }
            else
            {
                File.Delete(hostLog);
            }
        }
        failures += PlanServiceBusBatches();
        Console.WriteLine($"  whole benchmark: {whole.Elapsed.TotalSeconds:F0} s");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// Seeds a node service (a real import of tag 1) and its fleet, then imports tag 2 and follows
    /// the fan-out it starts until every instance's record names version 2.
    /// </summary>
    private async Task<FleetRun> FanOutAsync(int instances)
    {
        string name = $"fleet{instances}";
        int deviceCount = instances / InstancesPerDevice;
        var v1 = await _api.ImportAndWaitAsync(_key, Customer, Input(name, "1"));
        var (service, _) = await _seed.Services.GetAsync(Customer, v1.Str("node_service_id"), CancellationToken.None);

        // Straight into the catalog: adding instances through the API would send each version 1 first.
        var seeding = Stopwatch.StartNew();
        var devices = new Device[deviceCount];
        await Parallel.ForEachAsync(Enumerable.Range(0, deviceCount), new ParallelOptions { MaxDegreeOfParallelism = SeedParallelism }, async (d, _) =>
            devices[d] = await _seed.AddDeviceAsync(Customer, $"{name}-gw-{d:D5}", d % 2 == 0 ? "amd64" : "arm64"));
        var seeded = new NodeServiceInstance[instances];
        await Parallel.ForEachAsync(Enumerable.Range(0, instances), new ParallelOptions { MaxDegreeOfParallelism = SeedParallelism }, async (i, _) =>
            seeded[i] = await _seed.AddInstanceAsync(service!, devices[i / InstancesPerDevice], VersionTargetSelector.Latest));
        seeding.Stop();

        // Each fleet starts from an empty queue, so the queue's count follows this fan-out alone.
        await _queue.CreateIfNotExistsAsync();
        await _queue.ClearMessagesAsync();
        await WaitUntilSettledAsync(_host.Pid);
        ResetPeak(_host.Pid);
        var wall = Stopwatch.StartNew();
        var (host0, azurite0, loop0) = (CpuSeconds(_host.Pid), CpuSeconds(_azurite.Pid), MainThreadCpuSeconds(_azurite.Pid));

        string importId = (await _api.ImportAsync(_key, Customer, Input(name, "2"))).Ok().GetProperty("DM_import_node_service").Str("import_id");
        var history = new History(RolloutOrchestrator.FanOutIdFor(service!.NodeServiceId, 2, "wave0"));
        var samples = await FollowQueueAsync(instances, history);
        var (last, recorded) = await WaitForRecordsAsync(service!.NodeServiceId, seeded);
        var (hostCpu, azuriteCpu, loopCpu) = (CpuSeconds(_host.Pid) - host0, CpuSeconds(_azurite.Pid) - azurite0, MainThreadCpuSeconds(_azurite.Pid) - loop0);
        wall.Stop();
        long peak = PeakBytes(_host.Pid);

        var done = await _api.WaitForImportAsync(_key, importId, TimeSpan.FromSeconds(30));
        if (done.Str("status") != "completed" || done.GetProperty("container_version").GetInt32() != 2)
        {
            throw new InvalidOperationException($"The import of {name}:2 did not complete as version 2: {done}");
        }
        var completed = await ImportCompletedAtAsync(importId);
        await SampleHistoryAsync(history);
        await history.ReadPagesAsync(_tables, _host.TaskHub);
        var (starts, ends) = PageTimes(history.InstanceId, service.NodeServiceId);
        var reads = await TimePageReadsAsync(service.NodeServiceId);
        var reading = Stopwatch.StartNew();
        var queue = await ReadQueueAsync(seeded.Select(s => $"{s.InstanceId}:2"));
        Console.WriteLine($"  {name}: seeded {deviceCount:N0} devices and {instances:N0} instances (on latest, no update windows) in {seeding.Elapsed.TotalSeconds:F1} s, not counted; fan-out followed for {wall.Elapsed.TotalSeconds:F1} s; queue read back in {reading.Elapsed.TotalSeconds:F1} s");
        return new FleetRun(instances, deviceCount, completed, last, recorded, samples, wall.Elapsed.TotalSeconds, hostCpu, azuriteCpu, loopCpu, peak, queue, history, starts, ends, reads);
    }

    private JsonObject Input(string name, string tag) => new()
    {
        ["name"] = name,
        ["image_sources"] = ApiClient.Sources([("amd64", $"{_image}:{tag}"), ("arm64", $"{_image}:{tag}")]),
    };

    private static int Report(IReadOnlyList<FleetRun> runs, PeerRun peer)
    {
        var table = new Table().Title("fan-out of version 2, from the import's completion to the last record written (both rows' Timestamps)");
        table.AddColumn("instances");
        foreach (string column in new[] { "to 1st msg s", "to last record s", "msgs/s", "msgs/s from 1st msg", "generations", "max events / generation", "LocalHost peak MiB", "LocalHost CPU s", "Azurite CPU s", "Azurite loop busy" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }
        foreach (var r in runs)
        {
            table.AddRow($"{r.Instances:N0}", $"{(r.FirstMessage - r.ImportCompleted).TotalSeconds:F2}", $"{r.FromImport:F2}", $"{r.Instances / r.FromImport:F0}",
                $"{r.Instances / r.FromFirstMessage:F0}", $"{r.History.Pages}", $"{r.History.MaxEvents}", $"{r.HostPeakBytes / 1048576.0:F0}",
                $"{r.HostCpu:F1}", $"{r.AzuriteCpu:F1}", $"{r.AzuriteLoopCpu / r.Wall:P0}");
        }
        AnsiConsole.Write(table);
        Console.WriteLine("  CPU: from the import of tag 2 started to the last record seen; Azurite loop busy: CPU of Azurite's main (event-loop) thread over that wall time");
        AnsiConsole.Write(PageTable(runs[^1]));
        var reads = runs[^1].Reads;
        Console.WriteLine($"  a page's reads made from this process afterwards (first page of {runs[^1].Instances:N0}): list of 1,000 instances {reads.List:F2} s, their records {reads.Records:F2} s, their {reads.DeviceCount} devices {reads.Devices:F2} s ({QueueSendParallelism} in flight)");
        double peerRate = peer.Messages / peer.Seconds;
        Console.WriteLine($"  peer: {peer.Messages:N0} of the same message bodies sent from this process to another queue of the same Azurite, one request each, {QueueSendParallelism} in flight as the publisher sends: {peer.Seconds:F2} s, {peerRate:F0} msgs/s, Azurite CPU {peer.AzuriteCpu / peer.Messages * 1000:F2} ms per message (main thread {peer.AzuriteLoopCpu / peer.Seconds:P0} busy)");

        int failures = 0;
        foreach (var r in runs)
        {
            double rate = r.Instances / r.FromImport;
            bool exact = r.RecordedV2 == r.Instances && r.Queue.Distinct == r.Instances && r.Queue.Duplicates == 0 && r.Queue.Unexpected == 0 && r.Queue.Missing == 0;
            failures += exact ? 0 : 1;
            Console.WriteLine($"RESULT fan-out to {r.Instances:N0} instances = {rate:F0} msgs/s end to end ({r.FromImport:F2} s from the import's completion to the last record; target >= {TargetPerSecond:F0}/s: {(rate >= TargetPerSecond ? "met" : "NOT met")}); {r.Instances / r.FromFirstMessage:F0} msgs/s from the first message; fan-out / peer SDK sends = {r.Instances / r.FromFirstMessage / peerRate:F2}");
            Console.WriteLine($"RESULT {r.Instances:N0}: LocalHost peak working set = {r.HostPeakBytes / 1048576.0:F0} MiB (peak reset before the import), LocalHost CPU = {r.HostCpu:F1} s, Azurite CPU = {r.AzuriteCpu:F1} s ({r.AzuriteCpu / r.Instances * 1000:F2} ms per message; its event loop {r.AzuriteLoopCpu / r.Wall:P0} busy)");
            Console.WriteLine($"RESULT {r.Instances:N0}: orchestration history = at most {r.History.MaxEvents} events in a generation; {r.History.Pages} generations (pages in its output), {r.History.Executions.Count} of them seen in {{TaskHub}}History while it ran, {r.History.RowsAtEnd} rows left there at the end ({r.History.ExecutionsAtEnd} ExecutionId)");
            Console.WriteLine($"RESULT {r.Instances:N0}: queue holds {r.Queue.Total:N0} messages, {r.Queue.Distinct:N0} distinct message_ids, {r.Queue.Duplicates} duplicates, {r.Queue.Unexpected} unexpected, {r.Queue.Missing} missing; records naming version 2: {r.RecordedV2:N0} ({(exact ? "exactly one message per instance" : "NOT exact")})");
        }
        var (small, large) = (runs[0], runs[^1]);
        Console.WriteLine($"RESULT history per generation, {large.Instances:N0} / {small.Instances:N0} instances = {large.History.MaxEvents} / {small.History.MaxEvents} events ({(large.History.MaxEvents == small.History.MaxEvents ? "the same: bounded by the page, not the fleet" : "NOT the same")}); generations {large.History.Pages} / {small.History.Pages}");
        return failures;
    }

    /// <summary>
    /// The Service Bus batch planner alone, on 100,000 deployment messages and Standard tier's
    /// 256 KiB batch: building the messages (JSON body, ids, application properties) and planning
    /// them, timed apart, each after a warm-up run.
    /// </summary>
    private static int PlanServiceBusBatches()
    {
        const int Messages = 100_000;
        const long StandardBatchBytes = 256 * 1024;
        string serviceId = Ids.NodeServiceId(Customer, "planner");
        var deployments = Enumerable.Range(0, Messages).Select(i =>
        {
            string device = $"{Customer}-gw-{i / InstancesPerDevice:D6}";
            string instance = NodeServiceInstanceIds.New(serviceId);
            var body = new DeploymentMessage(DeploymentMessage.DeployType, Customer, device, instance, serviceId, 2, i % 2 == 0 ? "amd64" : "arm64", DeviceRoutes.PlanUrl(device, instance));
            return new OutgoingDeployment(body, DeploymentMessage.IdFor(instance, 2, 1), device, null);
        }).ToList();
        ServiceBusSizeEstimate.PlanBatches(deployments.Take(1000).Select(ServiceBusDeploymentPublisher.ToServiceBusMessage).ToList(), StandardBatchBytes);
        var build = Stopwatch.StartNew();
        var messages = deployments.Select(ServiceBusDeploymentPublisher.ToServiceBusMessage).ToList();
        build.Stop();
        ServiceBusSizeEstimate.PlanBatches(messages, StandardBatchBytes);
        var runs = new List<double>();
        IReadOnlyList<IReadOnlyList<ServiceBusMessage>> batches = [];
        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            batches = ServiceBusSizeEstimate.PlanBatches(messages, StandardBatchBytes);
            runs.Add(sw.Elapsed.TotalSeconds);
        }
        double plan = runs.Order().ElementAt(runs.Count / 2);
        // Every message once, in order; the fullest batch shows how close the planner packs to the limit.
        bool whole = batches.SelectMany(b => b).SequenceEqual(messages);
        long fullest = batches.Max(b => b.Sum(ServiceBusSizeEstimate.MessageSize));
        long bytes = messages.Sum(ServiceBusSizeEstimate.MessageSize);
        Console.WriteLine($"  Service Bus planner: {Messages:N0} messages of {bytes / (double)Messages:F0} estimated bytes each (body {messages.Average(m => m.Body.ToMemory().Length):F0}); planning runs {string.Join(", ", runs.Select(r => (r * 1000).ToString("F1")))} ms after one warm-up");
        Console.WriteLine($"RESULT building {Messages:N0} ServiceBusMessages (ToServiceBusMessage) = {build.Elapsed.TotalMilliseconds:F0} ms, {Messages / build.Elapsed.TotalSeconds:F0} msgs/s");
        Console.WriteLine($"RESULT PlanBatches of {Messages:N0} messages into {StandardBatchBytes / 1024} KiB batches = {plan * 1000:F1} ms (median of 3), {Messages / plan:F0} msgs/s; {batches.Count} batches, {Messages / (double)batches.Count:F0} messages each on average, fullest {fullest:N0} estimated message bytes ({(whole ? "every message once, in order" : "NOT every message once in order")}); planning / building = {plan / build.Elapsed.TotalSeconds:F2}");
        return whole ? 0 : 1;
    }

    public void Dispose() => _api.Dispose();
}
