using GraphQL;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pipeline.Api.Devices;
using Pipeline.Api.Webhooks;
using Pipeline.Deltas;
using Pipeline.Deployments;
using Pipeline.Api;
using Pipeline.Api.Auth;
using Pipeline.Api.GraphQL;
using Pipeline.Api.Limits;
using Pipeline.Fleet;
using Pipeline.Imports;
using Pipeline.Registry;
using Pipeline.Rollouts;
using Pipeline.Snapshots;
using Pipeline.Secrets;
using Pipeline.Storage;
using Pipeline.Webhooks;
using Microsoft.Extensions.Options;

namespace Pipeline;

/// <summary>Everything both hosts register: the pipeline is the same, only the hosting differs.</summary>
public static class PipelineServiceCollectionExtensions
{
    public static IServiceCollection AddPipeline(this IServiceCollection services)
    {
        services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.Section);
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);
        services.AddSingleton<PipelineStorage>();
        services.AddOptions<SnapshotOptions>().BindConfiguration(SnapshotOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SnapshotOptions>, SnapshotOptionsValidator>());
        services.AddSingleton<BlobSnapshotStore>();
        services.AddSingleton<BlobOwnershipStore>();
        services.AddSingleton<SnapshotRecordStore>();
        services.AddSingleton<ImportStore>();
        services.AddSingleton<ImportService>();
        // With 0 no import could ever take a slot: every import would wait, pending, until it gave up.
        services.AddOptions<ImportLimitOptions>().BindConfiguration(ImportLimitOptions.Section)
            .Validate(o => o.ImportsPerCustomer is >= 1 and <= ImportLimitOptions.MaxImportsPerCustomer,
                $"Pipeline:Limits:ImportsPerCustomer must be 1-{ImportLimitOptions.MaxImportsPerCustomer}.")
            .ValidateOnStart();
        services.AddSingleton<ImportLockStore>();
        services.AddSingleton<ImageResolver>();
        services.AddSingleton<VersionCommitter>();
        services.AddOptions<SecretOptions>().BindConfiguration(SecretOptions.Section);
        services.AddSingleton<ISecretStore>(sp => sp.GetRequiredService<IOptions<SecretOptions>>().Value.KeyVaultUri is null
            ? ActivatorUtilities.CreateInstance<LocalSecretStore>(sp)
            : ActivatorUtilities.CreateInstance<KeyVaultSecretStore>(sp));
        services.AddSingleton<RegistryCredentialStore>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<GraphQLEndpoint>();
        services.AddOptions<ApiLimitOptions>().BindConfiguration(ApiLimitOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiLimitOptions>, ApiLimitOptionsValidator>());
        services.AddSingleton<ApiRateLimiter>();
        services.AddOptions<DownloadOptions>().BindConfiguration(DownloadOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DownloadOptions>, DownloadOptionsValidator>());
        services.AddSingleton<DownloadUrlSigner>();
        services.AddSingleton<DeviceApiService>();
        services.AddSingleton<DeviceEndpoint>();
        services.AddPipelineDeployments();
        services.AddSingleton<RolloutStore>();
        services.AddSingleton<RolloutSteps>();
        services.AddSingleton<RolloutService>();
        services.AddSingleton<LayerIndexStore>();
        services.AddSingleton<LayerIndexer>();
        services.AddSingleton<ChunkPlanner>();
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<WebhookDeliveryStore>();
        services.AddSingleton<WebhookImportClaims>();
        services.AddSingleton<WebhookService>();
        services.AddSingleton<WebhookEndpoint>();
        services.AddPipelineRegistry();
        services.AddPipelineFleet();
        services.AddGraphQL(b => b
            .AddSchema<PipelineSchema>()
            .AddGraphTypes(typeof(PipelineSchema).Assembly)
            .AddSystemTextJson()
            .AddErrorInfoProvider<PipelineErrorInfoProvider>()
            .AddComplexityAnalyzer((c, sp) =>
            {
                var limits = sp.GetRequiredService<IOptions<ApiLimitOptions>>().Value;
                c.MaxDepth = limits.MaxQueryDepth;
                c.MaxComplexity = limits.MaxQueryComplexity;
            }));
        return services;
    }

    /// <summary>
    /// The orchestrators of the pipeline. Each is served by LocalHost's worker and, under the same
    /// name, by a one-line function of the Functions app (a test holds the two lists together).
    /// </summary>
    public static IReadOnlyList<Type> Orchestrators { get; } = [typeof(ImportOrchestrator), typeof(DeploymentFanOutOrchestrator), typeof(RolloutOrchestrator)];

    /// <summary>The activities of the pipeline, likewise.</summary>
    public static IReadOnlyList<Type> Activities { get; } =
    [
        typeof(BeginImportActivity),
        typeof(ResolveImageActivity),
        typeof(RecordBlobsActivity),
        typeof(SnapshotBlobsActivity),
        typeof(CommitVersionActivity),
        typeof(RecordImportFailedActivity),
        typeof(AcquireImportLockActivity),
        typeof(ReleaseImportLockActivity),
        typeof(FanOutPageActivity),
        typeof(StartFanOutActivity),
        typeof(StartRolloutActivity),
        typeof(BeginRolloutActivity),
        typeof(StartWaveActivity),
        typeof(EvaluateWaveActivity),
        typeof(EndRolloutActivity),
        typeof(IndexVersionActivity),
    ];

    /// <summary>The orchestrations and activities of the pipeline, for a DurableTask worker.</summary>
    public static DurableTaskRegistry AddPipelineTasks(this DurableTaskRegistry registry)
    {
        foreach (var type in Orchestrators)
        {
            registry.AddOrchestrator(type);
        }
        foreach (var type in Activities)
        {
            registry.AddActivity(type);
        }
        return registry;
    }
}
