using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Api.Devices;
using Pipeline.Deployments;
using Pipeline.Fleet;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;
using Pipeline.Rollouts;
using Pipeline.Snapshots;
using Pipeline.Storage;
using Pipeline.Tests.Fixtures;
using Pipeline.Tests.Fleet;

namespace Pipeline.Tests.Rollouts;

/// <summary>
/// Rollouts on the in-process durable test host: the real orchestrators and activities over an
/// Azurite of the test's own, and simulated devices that report through the real device API
/// (and raise the status event as the HTTP route does).
/// </summary>
public sealed class RolloutHarness : IAsyncDisposable
{
    private RolloutHarness(AzuriteFixture azurite, DurableTaskTestHost host, FleetSeed seed)
    {
        Azurite = azurite;
        Host = host;
        Seed = seed;
    }

    public AzuriteFixture Azurite { get; }

    public DurableTaskTestHost Host { get; }

    public FleetSeed Seed { get; }

    public DeviceApiService Devices => Host.Services.GetRequiredService<DeviceApiService>();

    public RolloutStore Rollouts => Host.Services.GetRequiredService<RolloutStore>();

    public DeploymentRecordStore Records => Host.Services.GetRequiredService<DeploymentRecordStore>();

    public static async Task<RolloutHarness> StartAsync()
    {
        var azurite = await AzuriteFixture.StartAsync();
        var storage = new PipelineStorage(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));
        DurableTaskClient? client = null;
        DurableTaskTestHost? host = null;
        for (int attempt = 1; host is null; attempt++)
        {
            try
            {
                host = await DurableTaskTestHost.StartAsync(r =>
                {
                    r.AddOrchestrator<RolloutOrchestrator>();
                    r.AddOrchestrator<DeploymentFanOutOrchestrator>();
                    r.AddActivity<BeginRolloutActivity>();
                    r.AddActivity<StartWaveActivity>();
                    r.AddActivity<EvaluateWaveActivity>();
                    r.AddActivity<EndRolloutActivity>();
                    r.AddActivity<FanOutPageActivity>();
                    r.AddActivityFunc<StartFanOutInput, bool>(nameof(StartFanOutActivity), (_, input) => StartFanOutActivity.StartAsync(client!, input));
                }, new DurableTaskTestHostOptions
                {
                    Port = FreePort.Next(),
                    ConfigureServices = s =>
                    {
                        s.AddLogging();
                        s.AddSingleton(storage);
                        s.AddSingleton(TimeProvider.System);
                        s.AddSingleton<NodeServiceStore>();
                        s.AddSingleton<NodeServiceInstanceStore>();
                        s.AddSingleton<SnapshotRecordStore>();
                        s.AddSingleton<DeviceStore>();
                        s.AddSingleton<RolloutStore>();
                        s.AddSingleton<RolloutSteps>();
                        s.AddSingleton<DeploymentRecordStore>();
                        s.AddSingleton<IDeploymentPublisher, QueueDeploymentPublisher>();
                        s.AddSingleton(Options.Create(new DownloadOptions()));
                        s.AddSingleton<DownloadUrlSigner>();
                        s.AddSingleton<DeviceApiService>();
                    },
                });
            }
            catch (IOException e) when (attempt < 3 && e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
            }
        }
        client = host.Client;
        return new RolloutHarness(azurite, host, new FleetSeed(azurite.ConnectionString));
    }

    /// <summary>A node service at version 1 under <paramref name="policy"/>, with one latest-following instance per device.</summary>
    public async Task<Fleet> FleetAsync(int count, RolloutPolicy policy, string[]? archs = null, Func<int, UpdateWindow?>? window = null)
    {
        archs ??= ["amd64", "arm64", "armhf"];
        string customer = PipelineFixture.NewCustomer();
        var service = await Seed.AddServiceAsync(customer, "svc", versions: 1, archs: archs);
        service = (await Seed.Services.UpdateAsync(customer, service.NodeServiceId, s => s with { Policy = policy, Rollout = RolloutPointer.Settled(1) }, CancellationToken.None))!;
        var devices = new List<SimulatedDevice>();
        for (int i = 0; i < count; i++)
        {
            string arch = archs[i % archs.Length];
            var (device, key) = await Seed.Devices.RegisterAsync(customer, $"{customer}-d{i:D3}", arch, CancellationToken.None);
            if (window?.Invoke(i) is { } w)
            {
                await Seed.Devices.SetUpdateWindowAsync(device.DeviceId, w, CancellationToken.None);
                device = device with { UpdateWindow = w };
            }
            var instance = await Seed.AddInstanceAsync(service, device, VersionTargetSelector.Latest);
            devices.Add(new SimulatedDevice(i, device.DeviceId, key, instance.InstanceId));
        }
        var fleet = new Fleet(this, customer, service.NodeServiceId, devices);
        // Version 1 goes out first, as it would have when it was imported.
        await fleet.FanOutAsync("initial");
        return fleet;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
    }

    public sealed record SimulatedDevice(int Index, string DeviceId, string Key, string InstanceId);

    /// <summary>A fleet and its devices; <see cref="Seen"/> says when each device first saw each version as its target.</summary>
    public sealed class Fleet(RolloutHarness harness, string customer, string nodeServiceId, IReadOnlyList<SimulatedDevice> devices)
    {
        public string Customer => customer;

        public string NodeServiceId => nodeServiceId;

        public IReadOnlyList<SimulatedDevice> Devices => devices;

        public ConcurrentDictionary<(int Device, int Version), DateTimeOffset> Seen { get; } = new();

        public ConcurrentDictionary<(int Device, int Version), DateTimeOffset> Reported { get; } = new();

        public async Task<NodeService> ServiceAsync() => (await harness.Seed.Services.GetAsync(customer, nodeServiceId, CancellationToken.None)).Service!;

        public async Task<NodeServiceInstance> InstanceAsync(SimulatedDevice d) => (await harness.Seed.Instances.GetAsync(d.InstanceId, CancellationToken.None)).Instance!;

        /// <summary>The version the device's target names now.</summary>
        public async Task<int?> TargetAsync(SimulatedDevice d)
        {
            var target = await harness.Devices.TargetAsync(d.DeviceId, d.Key, CancellationToken.None);
            return target.Instances.Single().ContainerVersion;
        }

        /// <summary>Commits <paramref name="version"/> as an import does and starts its rollout.</summary>
        public async Task PublishAsync(int version)
        {
            var service = await ServiceAsync();
            await harness.Seed.PublishVersionAsync(service, version);
            await harness.Seed.Services.UpdateAsync(customer, nodeServiceId, s => s with { Rollout = s.RolloutOrSettled.Committed(version, s.Policy) }, CancellationToken.None);
            await StartRolloutActivity.StartAsync(harness.Host.Client, new RolloutInput(nodeServiceId, customer, version));
        }

        /// <summary>A report from a device, as its HTTP route makes it.</summary>
        public async Task<StatusOutcome> ReportAsync(SimulatedDevice d, int version, string state, bool healthy, string? message = null, string? key = null, string? deviceId = null)
        {
            var outcome = await harness.Devices.ReportAsync(deviceId ?? d.DeviceId, d.InstanceId, key ?? d.Key, new StatusReport(version, state, healthy, message), CancellationToken.None);
            if (outcome.RolloutInstanceId is { } id)
            {
                await harness.Host.Client.RaiseEventAsync(id, RolloutOrchestrator.StatusEvent, d.InstanceId);
            }
            Reported.TryAdd((d.Index, version), DateTimeOffset.UtcNow);
            return outcome;
        }

        /// <summary>
        /// Runs the devices until <paramref name="stop"/> is cancelled: each polls its target and,
        /// on a version new to it, reports what <paramref name="behave"/> says (null: stays silent).
        /// </summary>
        public Task SimulateAsync(Func<SimulatedDevice, int, (string State, bool Healthy, string? Message)?> behave, CancellationToken stop) => Task.Run(async () =>
        {
            var last = new Dictionary<int, int?>();
            while (!stop.IsCancellationRequested)
            {
                foreach (var d in devices)
                {
                    int? target = await TargetAsync(d);
                    if (target is int v && (!last.TryGetValue(d.Index, out var was) || was != v))
                    {
                        last[d.Index] = v;
                        Seen.TryAdd((d.Index, v), DateTimeOffset.UtcNow);
                        if (behave(d, v) is { } r)
                        {
                            await ReportAsync(d, v, r.State, r.Healthy, r.Message);
                        }
                    }
                }
                try
                {
                    await Task.Delay(100, stop);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        /// <summary>Waits until the rollout of <paramref name="version"/> left <c>rolling_out</c>.</summary>
        public async Task<RolloutRecord> EndedAsync(int version, TimeSpan? within = null)
        {
            var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(60));
            while (true)
            {
                var record = await harness.Rollouts.GetAsync(nodeServiceId, version, CancellationToken.None);
                if (record is { IsRunning: false })
                {
                    return record;
                }
                Assert.True(DateTime.UtcNow < deadline, $"the rollout of version {version} is still {record?.State ?? "not begun"} (wave {record?.CurrentWave})");
                await Task.Delay(100);
            }
        }

        /// <summary>Runs a fan-out of the whole service to its end.</summary>
        public async Task FanOutAsync(string step)
        {
            string id = $"test-{nodeServiceId}-{step}";
            await harness.Host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(DeploymentFanOutOrchestrator),
                new FanOutRequest(nodeServiceId, customer, step), new StartOrchestrationOptions(InstanceId: id));
            var done = await harness.Host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: false, new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        }

        /// <summary>Waits until the fan-out of a rollout's step ended.</summary>
        public async Task WaitForFanOutAsync(int version, string step)
        {
            string id = RolloutOrchestrator.FanOutIdFor(nodeServiceId, version, step);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await harness.Host.Client.GetInstanceAsync(id) is not { RuntimeStatus: OrchestrationRuntimeStatus.Completed })
            {
                Assert.True(DateTime.UtcNow < deadline, $"fan-out {id} did not end");
                await Task.Delay(100);
            }
        }
    }
}
