using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Tests.Api;
using Pipeline.Tests.Api.Devices;
using Pipeline.Tests.DeviceAgent;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Benchmarks.Devices;

/// <summary>
/// The reference agent on a 400 MiB single-layer image, imported through LocalHost on a fresh
/// Azurite, with the plan's URLs pointed at <see cref="CuttingProxy"/> (which counts the bytes it
/// delivers per blob): what a link dropped at 50 % of the blob costs the agent that resumes by
/// itself (bytes downloaded twice); and, on a second device without a fault, the agent's peak
/// working set (VmHWM) and its wall time for the whole download, against <c>curl</c> of the same
/// plan URL through the same proxy in the same run.
/// </summary>
public static class AgentResumeBenchmark
{
    private const long MiB = 1024 * 1024;
    private const long LayerBytes = 400 * MiB;
    private const long TargetTwiceBytes = MiB;
    private const long TargetPeakBytes = 64 * MiB;
    private static readonly TimeSpan OnceTimeout = TimeSpan.FromMinutes(5);

    private sealed record Round(int ExitCode, TimeSpan Wall, long PeakBytes, string Log);

    public static async Task<int> RunAsync(string[] args)
    {
        var whole = Stopwatch.StartNew();
        Console.WriteLine($"agent benchmark: one image of a single {LayerBytes / MiB} MiB random layer; the plan's URLs go through a counting proxy on 127.0.0.1");
        int failures = 0;
        await using var azurite = await AzuriteFixture.StartAsync();
        await using var registry = await RegistryFixture.StartAsync();
        await using var proxy = await CuttingProxy.StartAsync(new Uri($"http://127.0.0.1:{azurite.BlobPort}"));
        await using var host = await LocalHostProcess.StartAsync(azurite, registry.Host, extraEnvironment: new Dictionary<string, string?>
        {
            ["Pipeline__Downloads__BaseUrl"] = new Uri(proxy.BaseUri, "/" + AzuriteFixture.AccountName).ToString(),
        });
        using var api = new ApiClient(host.BaseUri);
        using var devices = new DeviceClient(host.BaseUri);

        string customer = "agentbench";
        string key = await api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read", "deploy");
        var build = Stopwatch.StartNew();
        var image = await TestImages.BuildAndPushAsync(registry.Host, RegistryFixture.NewRepository("agent-bench"), "1",
            [ArchSpec.Amd64(LayerSpec.RandomData(LayerBytes))]);
        var built = build.Elapsed;
        var import = await api.ImportAndWaitAsync(key, customer, new JsonObject
        {
            ["name"] = "agent-bench",
            ["image_sources"] = ApiClient.Sources([("amd64", image.Reference)]),
        }, TimeSpan.FromMinutes(10));
        if (import.Str("status") != "completed")
        {
            Console.WriteLine($"FAILED import: {import}");
            return 1;
        }
        string serviceId = import.Str("node_service_id");
        var largest = image.For("amd64").Layers.MaxBy(l => l.Size)!;
        string digest = largest.Digest.ToString();
        Console.WriteLine($"  image built and pushed in {built.TotalSeconds:F1} s, imported in {(build.Elapsed - built).TotalSeconds:F1} s; layer {digest[..19]}… is {largest.Size:N0} bytes ({largest.Size / (double)MiB:F1} MiB)");

        // 1. The link drops at 50 % of the layer; the running agent resumes by itself with Range.
        var (cutDevice, cutKey, cutInstance) = await AddDeviceAsync(api, key, customer, serviceId, "gw-cut");
        using (var agent = AgentProcess.For(host.BaseUri, cutDevice, cutKey))
        {
            proxy.Cut(digest, new BlobFault { DropAt = largest.Size / 2 });
            var round = await OnceAsync(agent);
            long crossed = proxy.SentBytes(digest);
            failures += Check(round, "cut round");
            var record = Downloads(agent).FirstOrDefault(d => d.GetProperty("digest").GetString() == digest);
            long resumedFrom = record.ValueKind == JsonValueKind.Object && record.TryGetProperty("resumed_from", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetInt64() : -1;
            long downloaded = record.ValueKind == JsonValueKind.Object ? record.GetProperty("bytes_downloaded").GetInt64() : -1;
            int attempts = record.ValueKind == JsonValueKind.Object && record.TryGetProperty("attempts", out var a) ? a.GetInt32() : -1;
            int restarts = record.ValueKind == JsonValueKind.Object && record.TryGetProperty("restarts", out var rs) ? rs.GetInt32() : -1;
            bool stored = File.Exists(agent.BlobPath(digest));
            long twice = crossed - largest.Size;
            Console.WriteLine($"  cut round: link dropped at {largest.Size / 2:N0} bytes; `once` exit {round.ExitCode} in {round.Wall.TotalSeconds:F1} s, blob stored and verified: {(stored ? "yes" : "no")}");
            Console.WriteLine($"  agent's report for the blob: {attempts} attempts, {restarts} restarts from zero, bytes_downloaded {downloaded:N0}, resumed_from {resumedFrom:N0} (the partial at the round's start); peak working set {round.PeakBytes / (double)MiB:F1} MiB");
            Console.WriteLine($"RESULT resume waste: {crossed:N0} bytes crossed the proxy for a {largest.Size:N0}-byte blob: {twice:N0} bytes downloaded twice ({twice / 1024.0:F1} KiB; target < {TargetTwiceBytes / MiB} MiB)");
            failures += stored ? 0 : 1;
            _ = cutInstance;
        }
        proxy.Heal();

        // 2. A second device, no fault: the agent's peak memory and wall time, against curl of the plan's URL.
        var (cleanDevice, cleanKey, cleanInstance) = await AddDeviceAsync(api, key, customer, serviceId, "gw-clean");
        var plan = (await devices.PlanAsync(cleanKey, cleanDevice, cleanInstance)).Expect(HttpStatusCode.OK);
        var planned = plan.GetProperty("blobs").EnumerateArray().Single(b => b.Str("digest") == digest);
        string url = planned.Str("url");
        long before = proxy.SentBytes(digest);
        Round clean;
        using (var agent = AgentProcess.For(host.BaseUri, cleanDevice, cleanKey))
        {
            clean = await OnceAsync(agent);
            failures += Check(clean, "clean round");
            failures += File.Exists(agent.BlobPath(digest)) ? 0 : 1;
        }
        long agentBytes = proxy.SentBytes(digest) - before;
        var (curlExit, curlWall) = await CurlAsync(url);
        long curlBytes = proxy.SentBytes(digest) - before - agentBytes;
        failures += curlExit == 0 ? 0 : 1;
        double agentRate = largest.Size / MiB / clean.Wall.TotalSeconds;
        double curlRate = largest.Size / MiB / curlWall.TotalSeconds;
        Console.WriteLine($"  clean round: `once` exit {clean.ExitCode}, {agentBytes:N0} bytes through the proxy; peer curl exit {curlExit}, {curlBytes:N0} bytes through the proxy");
        Console.WriteLine($"  agent wall time is the whole `once` process (start, target, plan, download with hashing, verify, switch); curl's is the one GET");
        Console.WriteLine($"RESULT agent peak working set (VmHWM) downloading the {largest.Size / (double)MiB:F0} MiB blob: {clean.PeakBytes / (double)MiB:F1} MiB (target < {TargetPeakBytes / MiB} MiB)");
        Console.WriteLine($"RESULT full download: agent {clean.Wall.TotalSeconds:F2} s = {agentRate:F0} MiB/s; curl {curlWall.TotalSeconds:F2} s = {curlRate:F0} MiB/s; agent/curl time = {clean.Wall.TotalSeconds / curlWall.TotalSeconds:F2}x");
        Console.WriteLine($"  whole benchmark: {whole.Elapsed.TotalSeconds:F0} s");
        return failures == 0 ? 0 : 1;
    }

    private static async Task<(string DeviceId, string DeviceKey, string InstanceId)> AddDeviceAsync(ApiClient api, string key, string customer, string serviceId, string prefix)
    {
        string deviceId = prefix + "-" + Guid.NewGuid().ToString("N")[..10];
        string deviceKey = await api.RegisterDeviceOkAsync(key, customer, deviceId, "amd64");
        string instance = (await api.AddInstanceOkAsync(key, serviceId, deviceId)).Str("node_service_instance_id");
        return (deviceId, deviceKey, instance);
    }

    /// <summary>
    /// <c>pipeline-agent once</c> as its own process (dotnet runs the dll in-process, so the PID is
    /// the agent's), its VmHWM read every 10 ms until it exits; the last reading is its peak.
    /// </summary>
    private static async Task<Round> OnceAsync(AgentProcess agent)
    {
        string[] arguments = [AgentProcess.Dll, "once", "--api", agent.Api.ToString(), "--device", agent.DeviceId,
            "--key-file", agent.KeyFile, "--store", agent.StoreRoot, "--report-json", agent.ReportPath];
        var watch = Stopwatch.StartNew();
        await using var process = ServiceProcess.Start("dotnet", arguments, AppContext.BaseDirectory,
            new Dictionary<string, string?> { ["TERM"] = "dumb", ["NO_COLOR"] = "1" });
        long peak = 0;
        while (!process.HasExited)
        {
            if (watch.Elapsed > OnceTimeout)
            {
                await process.KillAsync();
                break;
            }
            peak = Math.Max(peak, ReadHighWaterMark(process.Pid));
            await Task.Delay(10);
        }
        var wall = watch.Elapsed;
        string log = process.ReadLog(2000);
        await process.StopAsync();
        return new Round(process.ExitCode ?? -1, wall, peak, log);
    }

    /// <summary>VmHWM of /proc/PID/status in bytes, or 0 once the process is gone.</summary>
    private static long ReadHighWaterMark(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0]) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 0;
    }

    private static async Task<(int ExitCode, TimeSpan Wall)> CurlAsync(string url)
    {
        var psi = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-s", "-o", "/dev/null", url })
        {
            psi.ArgumentList.Add(argument);
        }
        var watch = Stopwatch.StartNew();
        using var curl = Process.Start(psi)!;
        await curl.WaitForExitAsync();
        return (curl.ExitCode, watch.Elapsed);
    }

    private static IEnumerable<JsonElement> Downloads(AgentProcess agent) =>
        File.Exists(agent.ReportPath) && agent.Report().TryGetProperty("downloads", out var downloads) ? downloads.EnumerateArray().ToList() : [];

    private static int Check(Round round, string label)
    {
        if (round.ExitCode == 0)
        {
            return 0;
        }
        Console.WriteLine($"FAILED {label}: exit {round.ExitCode}: {round.Log}");
        return 1;
    }
}
