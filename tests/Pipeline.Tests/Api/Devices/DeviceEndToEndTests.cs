using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.Api.Devices;

/// <summary>
/// The device half end to end: a three-arch image pushed by skopeo into the CNCF registry,
/// imported through LocalHost into Azurite, then planned and downloaded by a device per arch
/// from the plan's URLs — every blob hashing to its digest, a broken download resumed with
/// Range — and the next version planned as exactly what changed.
/// </summary>
public sealed class DeviceEndToEndTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>, IDisposable
{
    private static readonly TimeSpan ImportTimeout = TimeSpan.FromMinutes(2);

    private readonly DeviceClient _devices = new(pipeline.Host.BaseUri);

    private ApiClient Api => pipeline.Api;

    public void Dispose() => _devices.Dispose();

    private static readonly string[] Archs = ["amd64", "arm64", "armhf"];

    private static List<ArchSpec> Image(int appSeed) =>
    [
        ArchSpec.Amd64(LayerSpec.SeededData(2_500_000, seed: 1, "base/amd64.bin"), LayerSpec.SeededData(600_000, appSeed, "app/amd64.bin")),
        ArchSpec.Arm64(LayerSpec.SeededData(2_000_000, seed: 2, "base/arm64.bin"), LayerSpec.SeededData(500_000, appSeed + 1, "app/arm64.bin")),
        ArchSpec.ArmV7(LayerSpec.SeededData(1_500_000, seed: 3, "base/armhf.bin"), LayerSpec.SeededData(400_000, appSeed + 2, "app/armhf.bin")),
    ];

    private async Task<JsonElement> ImportAsync(string key, string customer, string reference)
    {
        var import = await Api.ImportAndWaitAsync(key, customer, new JsonObject
        {
            ["name"] = "edge-app",
            ["image_sources"] = ApiClient.Sources(Archs.Select(a => (a, reference))),
        }, ImportTimeout);
        Assert.True(import.Str("status") == "completed", import.ToString());
        return import;
    }

    private sealed record Device(string Id, string Key, string Arch, string Instance);

    private async Task<Device> AddDeviceAsync(string key, string customer, string nodeServiceId, string arch)
    {
        string id = $"gw-{arch}-{Guid.NewGuid().ToString("N")[..10]}";
        string deviceKey = await Api.RegisterDeviceOkAsync(key, customer, id, arch);
        string instance = (await Api.AddInstanceOkAsync(key, nodeServiceId, id)).Str("node_service_instance_id");
        return new Device(id, deviceKey, arch, instance);
    }

    private async Task<JsonElement> PlanAsync(Device d, IEnumerable<string>? have = null) =>
        (await _devices.PlanAsync(d.Key, d.Id, d.Instance, have)).Expect(HttpStatusCode.OK);

    private static IEnumerable<string> AllDigests(JsonElement plan) =>
        plan.GetProperty("layers").EnumerateArray().Select(l => l.Str("digest")).Prepend(plan.GetProperty("config").Str("digest"));

    [Fact]
    public async Task Devices_ImportThenPlan_DownloadVerifyResume_NextVersionIsOnlyWhatChanged()
    {
        string customer = PipelineFixture.NewCustomer();
        string key = await Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read", "deploy");
        string repository = RegistryFixture.NewRepository("devices");
        var v1Image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "1", Image(appSeed: 10));
        var v1 = await ImportAsync(key, customer, v1Image.Reference);
        string serviceId = v1.Str("node_service_id");

        var devices = new List<Device>();
        foreach (string arch in Archs)
        {
            devices.Add(await AddDeviceAsync(key, customer, serviceId, arch));
        }
        var pinned = await AddDeviceAsync(key, customer, serviceId, "amd64");
        var disabled = await AddDeviceAsync(key, customer, serviceId, "arm64");

        // Version 1: every device downloads its arch's blobs from the plan's URLs, and they verify.
        var imported = v1.GetProperty("architectures").EnumerateArray().ToDictionary(a => a.Str("arch"));
        foreach (var d in devices)
        {
            var plan = await PlanAsync(d);
            var arch = imported[d.Arch];
            Assert.Equal(1, plan.GetProperty("container_version").GetInt32());
            Assert.Equal(arch.Str("manifest_digest"), plan.Str("manifest_digest"));
            var expected = arch.GetProperty("layers").EnumerateArray().Select(l => l.Str("digest")).Prepend(arch.Str("config_digest")).ToList();
            var blobs = plan.GetProperty("blobs").EnumerateArray().ToList();
            Assert.Equal(expected, blobs.Select(b => b.Str("digest")));
            Assert.Equal(plan.GetProperty("bytes_total").GetInt64(), plan.GetProperty("bytes_to_download").GetInt64());
            Assert.Equal(blobs.Sum(b => b.GetProperty("size").GetInt64()), plan.GetProperty("bytes_total").GetInt64());
            foreach (var blob in blobs)
            {
                var (status, bytes) = await BlobUrlDownloads.GetAsync(blob.Str("url"));
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Equal(blob.GetProperty("size").GetInt64(), bytes.Length);
                Assert.Equal(blob.Str("digest"), BlobUrlDownloads.Hash(bytes).ToString());
            }
            var (envStatus, env) = await BlobUrlDownloads.GetAsync(plan.Str("env_url"));
            Assert.Equal(HttpStatusCode.OK, envStatus);
            Assert.Equal(plan.GetProperty("env").Str("digest"), BlobUrlDownloads.Hash(env).ToString());
        }

        // A link that breaks in the middle of the largest blob: the rest comes with Range, and the joined bytes verify.
        var largest = (await PlanAsync(devices[0])).GetProperty("blobs").EnumerateArray().MaxBy(b => b.GetProperty("size").GetInt64());
        long size = largest.GetProperty("size").GetInt64();
        var joined = await BlobUrlDownloads.DownloadCutAndResumeAsync(largest.Str("url"), size, size / 2);
        Assert.Equal(largest.Str("digest"), BlobUrlDownloads.Hash(joined).ToString());

        (await Api.SetRolloutAsync(key, [pinned.Instance], "version:1")).Ok();
        (await Api.SetRolloutAsync(key, [disabled.Instance], "disabled")).Ok();
        var v1Held = new Dictionary<string, List<string>>();
        foreach (var d in devices)
        {
            v1Held[d.Arch] = AllDigests(await PlanAsync(d)).ToList();
        }

        // Version 2 changes one layer per arch (and so each config): a device holding version 1 gets exactly those.
        var v2Image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, repository, "2", Image(appSeed: 20));
        var v2 = await ImportAsync(key, customer, v2Image.Reference);
        Assert.Equal(2, v2.GetProperty("container_version").GetInt32());
        foreach (var d in devices)
        {
            var pushed = d.Arch switch { "armhf" => v2Image.For("arm", "v7"), _ => v2Image.For(d.Arch) };
            var plan = await PlanAsync(d, v1Held[d.Arch]);
            var blobs = plan.GetProperty("blobs").EnumerateArray().ToList();
            Assert.Equal(2, plan.GetProperty("container_version").GetInt32());
            Assert.Equal([pushed.ConfigDigest.ToString(), pushed.Layers[1].Digest.ToString()], blobs.Select(b => b.Str("digest")));
            Assert.Equal(pushed.ConfigSize + pushed.Layers[1].Size, plan.GetProperty("bytes_to_download").GetInt64());
            Assert.Equal(pushed.ConfigSize + pushed.Layers.Sum(l => l.Size), plan.GetProperty("bytes_total").GetInt64());
            Assert.Equal(pushed.Layers.Select(l => l.Digest.ToString()), plan.GetProperty("layers").EnumerateArray().Select(l => l.Str("digest")));
            foreach (var blob in blobs)
            {
                var (_, bytes) = await BlobUrlDownloads.GetAsync(blob.Str("url"));
                Assert.Equal(blob.Str("digest"), BlobUrlDownloads.Hash(bytes).ToString());
            }
        }

        // The pinned instance keeps getting version 1; the disabled one gets nothing.
        var pinnedPlan = await PlanAsync(pinned);
        Assert.Equal(1, pinnedPlan.GetProperty("container_version").GetInt32());
        Assert.Equal(imported["amd64"].Str("manifest_digest"), pinnedPlan.Str("manifest_digest"));
        var disabledPlan = await PlanAsync(disabled);
        Assert.Equal(JsonValueKind.Null, disabledPlan.GetProperty("container_version").ValueKind);
        Assert.Empty(disabledPlan.GetProperty("blobs").EnumerateArray());

        // The target says the same as the plans.
        var target = (await _devices.TargetAsync(pinned.Key, pinned.Id)).Expect(HttpStatusCode.OK).GetProperty("instances").EnumerateArray().Single();
        Assert.Equal((pinned.Instance, 1), (target.Str("node_service_instance_id"), target.GetProperty("container_version").GetInt32()));
    }
}
