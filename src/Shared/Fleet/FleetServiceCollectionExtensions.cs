using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Networking;

namespace Pipeline.Fleet;

/// <summary>Services of the fleet: devices, instances, allocation, rollout.</summary>
public static class FleetServiceCollectionExtensions
{
    public static IServiceCollection AddPipelineFleet(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<NodeServiceStore>();
        services.AddSingleton<DeviceStore>();
        services.AddSingleton<DeviceService>();
        services.AddSingleton<LanLeaseStore>();
        services.AddSingleton<LanAllocator>();
        services.AddSingleton<NodeServiceInstanceStore>();
        services.AddSingleton<NodeServiceInstanceService>();
        return services;
    }
}
