using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Pipeline.Tests.Api;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// TEST-MATRIX row 31 end to end: the link to storage breaks in the middle of the largest blob,
/// and then the agent itself is killed there. A second LocalHost hands out download URLs through
/// <see cref="CuttingProxy"/>, which counts every byte the device receives; the restarted agent
/// resumes with Range, under 1 MiB crosses the link twice, and the blob verifies before it is used.
/// </summary>
public sealed class AgentCutResumeTests(PipelineFixture pipeline) : IClassFixture<PipelineFixture>
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task Agent_LinkDropsThenAgentKilledMidBlob_ResumesUnder1MiBTwiceAndVerifies()
    {
        string customer = PipelineFixture.NewCustomer();
        string key = await pipeline.Api.CreateKeyAsync(LocalHostProcess.AdminKey, customer, "import", "read", "deploy");
        var image = await TestImages.BuildAndPushAsync(pipeline.Registry.Host, RegistryFixture.NewRepository("agent-cut"), "1",
            [ArchSpec.Amd64(LayerSpec.Text("etc/app.conf", "mode=edge\n"), LayerSpec.RandomData(8_000_000), LayerSpec.Text("app/run.sh", "#!/bin/sh\n"))]);
        var import = await pipeline.Api.ImportAndWaitAsync(key, customer, new JsonObject
        {
            ["name"] = "cut-app",
            ["image_sources"] = ApiClient.Sources([("amd64", image.Reference)]),
        }, TimeSpan.FromMinutes(1));
        Assert.True(import.Str("status") == "completed", import.ToString());
        string serviceId = import.Str("node_service_id");
        string deviceId = "gw-cut-" + Guid.NewGuid().ToString("N")[..10];
        string deviceKey = await pipeline.Api.RegisterDeviceOkAsync(key, customer, deviceId, "amd64");
        string instance = (await pipeline.Api.AddInstanceOkAsync(key, serviceId, deviceId)).Str("node_service_instance_id");
        var largest = image.For("amd64").Layers.MaxBy(l => l.Size)!;
        string digest = largest.Digest.ToString();

        await using var proxy = await CuttingProxy.StartAsync(new Uri($"http://127.0.0.1:{pipeline.Azurite.BlobPort}"));
        await using var host = await LocalHostProcess.StartAsync(pipeline.Azurite, pipeline.Registry.Host, extraEnvironment: new Dictionary<string, string?>
        {
            ["Pipeline__Downloads__BaseUrl"] = new Uri(proxy.BaseUri, "/" + AzuriteFixture.AccountName).ToString(),
        });
        using var agent = AgentProcess.For(host.BaseUri, deviceId, deviceKey);

        // The link drops at 30 % (the running agent resumes by itself), then goes silent at 70 %: kill the agent there.
        proxy.Cut(digest, new BlobFault { DropAt = largest.Size * 3 / 10 }, new BlobFault { StallAt = largest.Size * 7 / 10 });
        long partialLength;
        await using (var running = agent.StartRun("--poll-seconds", "600"))
        {
            await AgentEndToEndTests.WaitForAsync(() => new FileInfo(agent.PartialPath(digest)) is { Exists: true } f && f.Length >= largest.Size * 7 / 10, running, "the partial past 70 %");
            await Task.Delay(300);
            Assert.False(File.Exists(agent.BlobPath(digest)), "an unfinished blob must never sit under its digest");
            Assert.Contains("download sha256:", running.ReadLog());
            await running.KillAsync();
            partialLength = new FileInfo(agent.PartialPath(digest)).Length;
        }
        Assert.InRange(partialLength, largest.Size / 2, largest.Size - 1);

        // Restarted, the agent continues from the partial's end.
        proxy.Heal();
        var resumed = await agent.OnceAsync();

        Assert.True(resumed.ExitCode == 0, resumed.StdErr + resumed.StdOut);
        var record = agent.Report().GetProperty("downloads").EnumerateArray().Single(d => d.Str("digest") == digest);
        Assert.Equal(partialLength, record.GetProperty("resumed_from").GetInt64());
        Assert.Equal(largest.Size - partialLength, record.GetProperty("bytes_downloaded").GetInt64());
        long twice = proxy.SentBytes(digest) - largest.Size;
        Assert.True(twice is >= 0 and < MiB, $"{twice} bytes of {digest} crossed the link twice");
        Assert.Equal(digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(agent.BlobPath(digest)))));
        Assert.False(File.Exists(agent.PartialPath(digest)));
        Assert.Equal("versions/1", agent.Current(instance));
        Assert.Equal(AgentEndToEndTests.Digests(image.For("amd64")), agent.StoredDigests());
        await AgentEndToEndTests.AssertStatusAsync(pipeline.Api, key, serviceId, instance, 1, null);
    }
}
