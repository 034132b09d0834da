using Microsoft.Extensions.DependencyInjection;

namespace Pipeline.Fleet;

/// <summary>Services of the fleet: devices, instances, allocation, rollout.</summary>
public static class FleetServiceCollectionExtensions
{
    public static IServiceCollection AddPipelineFleet(this IServiceCollection services)
    {
        services.AddSingleton<NodeServiceStore>();
        return services;
    }
}
