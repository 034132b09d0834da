using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Pipeline.LocalHost.Durable;

/// <summary>
/// Registers the persistent local durable backend: the storage service, a durable worker running
/// the given orchestrators and activities on it in this process, and a <see cref="DurableTaskClient"/>
/// over the same service.
/// </summary>
public static class LocalDurableServiceCollectionExtensions
{
    /// <summary>
    /// Adds the backend (as a hosted service, ahead of the worker), the worker and the client.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">
    /// Read once, now: <c>Pipeline:Storage:ConnectionString</c> (default <c>UseDevelopmentStorage=true</c>)
    /// and the optional section <c>Pipeline:Durable</c> (<see cref="LocalDurableOptions"/>).
    /// </param>
    /// <param name="registerTasks">Adds the orchestrator and activity classes the worker runs.</param>
    /// <param name="configure">Optional last word on the options, after configuration.</param>
    /// <remarks>
    /// Call this before registering other hosted services that use the client at startup: hosted
    /// services start in registration order. Call it once per application.
    /// </remarks>
    public static IServiceCollection AddLocalDurableTask(
        this IServiceCollection services,
        IConfiguration configuration,
        Action<DurableTaskRegistry> registerTasks,
        Action<LocalDurableOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(registerTasks);

        LocalDurableOptions options = ReadOptions(configuration, configure);

        services.AddSingleton(options);
        services.AddSingleton<LocalDurableBackend>();
        services.AddHostedService(provider => provider.GetRequiredService<LocalDurableBackend>());

        services.AddDurableTaskWorker(worker =>
        {
            worker.AddTasks(registerTasks);
            worker.UseBuildTarget<InProcessDurableWorker>();
        });

        services.AddDurableTaskClient(client =>
        {
            client.UseBuildTarget<InProcessDurableClient>();
            client.RegisterDirectly();
        });

        return services;
    }

    private static LocalDurableOptions ReadOptions(IConfiguration configuration, Action<LocalDurableOptions>? configure)
    {
        var options = new LocalDurableOptions();
        configuration.GetSection(LocalDurableOptions.SectionName).Bind(options);

        string? connectionString = configuration[LocalDurableOptions.ConnectionStringKey];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            options.StorageConnectionString = connectionString;
        }

        configure?.Invoke(options);
        options.Validate();
        return options;
    }
}
