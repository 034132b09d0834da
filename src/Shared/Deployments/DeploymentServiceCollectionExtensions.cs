using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pipeline.Deployments;

/// <summary>
/// The fan-out's services. Which publisher sends is decided by configuration once at start-up:
/// Service Bus topic <c>deployments</c> when <c>Pipeline:ServiceBus</c> names a namespace or a
/// connection string, otherwise the storage queue <c>deployments</c>.
/// </summary>
public static class DeploymentServiceCollectionExtensions
{
    public static IServiceCollection AddPipelineDeployments(this IServiceCollection services)
    {
        services.AddOptions<ServiceBusOptions>().BindConfiguration(ServiceBusOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServiceBusOptions>, ServiceBusOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DeploymentRecordStore>();
        services.AddSingleton<QueueDeploymentPublisher>();
        // One client for the process, disposed (with its sender) when the host stops.
        services.AddSingleton(sp => ServiceBusDeploymentPublisher.CreateClient(sp.GetRequiredService<IOptions<ServiceBusOptions>>().Value));
        services.AddSingleton<IDeploymentPublisher>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ServiceBusOptions>>().Value;
            return options.Configured
                ? ServiceBusDeploymentPublisher.Create(sp.GetRequiredService<ServiceBusClient>(), options,
                    sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ServiceBusDeploymentPublisher>>())
                : sp.GetRequiredService<QueueDeploymentPublisher>();
        });
        return services;
    }
}
