using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Pipeline.Fleet;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Networking;
using Pipeline.Fleet.Rollout;
using Pipeline.Oci;
using Pipeline.Snapshots;
using Pipeline.Storage;

namespace Pipeline.Tests.Fleet;

/// <summary>
/// Node services and versions written straight into the test's Azurite (imports make them in
/// production), and the catalog's stores for checks a client cannot make.
/// </summary>
public sealed class FleetSeed
{
    public FleetSeed(string connectionString, TimeProvider? time = null)
    {
        Storage = new PipelineStorage(Options.Create(new StorageOptions { ConnectionString = connectionString }));
        Time = time ?? TimeProvider.System;
        Services = new NodeServiceStore(Storage);
        Versions = new SnapshotRecordStore(Storage);
        Devices = new DeviceStore(Storage, Time);
        Leases = new LanLeaseStore(Storage);
        Instances = new NodeServiceInstanceStore(Storage);
        Allocator = new LanAllocator(Leases, Time, NullLogger<LanAllocator>.Instance);
    }

    public PipelineStorage Storage { get; }

    public TimeProvider Time { get; }

    public NodeServiceStore Services { get; }

    public SnapshotRecordStore Versions { get; }

    public DeviceStore Devices { get; }

    public LanLeaseStore Leases { get; }

    public NodeServiceInstanceStore Instances { get; }

    public LanAllocator Allocator { get; }

    /// <summary>A device registered straight in the catalog, with an update window if given.</summary>
    public async Task<Device> AddDeviceAsync(string customerId, string deviceId, string arch, UpdateWindow? window = null)
    {
        var (device, _) = await Devices.RegisterAsync(customerId, deviceId, arch, CancellationToken.None);
        if (window is not null)
        {
            await Devices.SetUpdateWindowAsync(deviceId, window, CancellationToken.None);
        }
        return device with { UpdateWindow = window };
    }

    /// <summary>An instance written straight into the catalog (no LAN, no fan-out), linked to its device.</summary>
    public async Task<NodeServiceInstance> AddInstanceAsync(NodeService service, Device device, VersionTargetSelector selector)
    {
        var instance = new NodeServiceInstance(NodeServiceInstanceIds.New(service.NodeServiceId), service.NodeServiceId, service.CustomerId,
            device.DeviceId, device.Arch, selector, null, null, Time.GetUtcNow())
        {
            DeviceWindow = device.UpdateWindow,
        };
        await Devices.LinkInstanceAsync(device.DeviceId, instance.InstanceId, CancellationToken.None);
        await Instances.AddAsync(instance, CancellationToken.None);
        return instance;
    }

    /// <summary>Networking with a LAN on <paramref name="access"/>, and a per-instance template or a shared range.</summary>
    public static NodeServiceNetwork Lan(string access, string? template = null, string? range = null, string mode = NodeServiceNetwork.Dhcp) =>
        new(NodeServiceNetwork.Dhcp, mode, false, access, template, range);

    /// <summary>A node service with versions 1..<paramref name="versions"/> (latest = the last), for <paramref name="archs"/>.</summary>
    public async Task<NodeService> AddServiceAsync(string customerId, string name, NodeServiceNetwork? network = null, int versions = 1, params string[] archs)
    {
        archs = archs.Length == 0 ? [Architectures.Amd64] : archs;
        var service = new NodeService(customerId, Ids.NodeServiceId(customerId, name), name, versions == 0 ? null : versions, "registry.test/" + name + ":1", archs)
        {
            Network = network ?? NodeServiceNetwork.None,
        };
        Assert.True(await Services.TrySaveAsync(service, default, CancellationToken.None));
        for (int v = 1; v <= versions; v++)
        {
            await AddVersionAsync(service, v);
        }
        return service;
    }

    /// <summary>A new version lands: its record, then the service's latest version.</summary>
    public async Task PublishVersionAsync(NodeService service, int version)
    {
        await AddVersionAsync(service, version);
        var (current, etag) = await Services.GetAsync(service.CustomerId, service.NodeServiceId, CancellationToken.None);
        Assert.NotNull(current);
        Assert.True(await Services.TrySaveAsync(current with { ContainerVersion = version }, etag, CancellationToken.None));
    }

    private async Task AddVersionAsync(NodeService service, int version)
    {
        var archs = service.Architectures.Select(arch =>
        {
            var config = Descriptor(MediaTypes.OciConfig, $"{service.NodeServiceId}/{arch}/{version}/config");
            var layer = Descriptor(MediaTypes.OciLayerGzip, $"{service.NodeServiceId}/{arch}/{version}/layer");
            var manifest = Descriptor(MediaTypes.OciManifest, $"{service.NodeServiceId}/{arch}/{version}/manifest");
            return new ArchSnapshot(arch, service.ContainerImage ?? "registry.test/x:1", manifest, config, [layer]);
        }).ToList();
        var record = new SnapshotRecord(version, service.NodeServiceId, "imp_seed", DateTimeOffset.UtcNow, archs,
            ServiceSettings.Empty, service.Network, Descriptor("text/plain", $"{service.NodeServiceId}/{version}/env"));
        Assert.True(await Versions.TryAddAsync(record, CancellationToken.None));
    }

    private static Descriptor Descriptor(string mediaType, string content) =>
        new(mediaType, Digest.Compute(Encoding.UTF8.GetBytes(content)), content.Length);
}
