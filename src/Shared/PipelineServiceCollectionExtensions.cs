using GraphQL;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Api;
using Pipeline.Api.Auth;
using Pipeline.Api.GraphQL;
using Pipeline.Fleet;
using Pipeline.Imports;
using Pipeline.Registry;
using Pipeline.Snapshots;
using Pipeline.Secrets;
using Pipeline.Storage;
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
        services.AddOptions<SnapshotOptions>().BindConfiguration(SnapshotOptions.Section);
        services.AddSingleton<BlobSnapshotStore>();
        services.AddSingleton<BlobOwnershipStore>();
        services.AddSingleton<SnapshotRecordStore>();
        services.AddSingleton<ImportStore>();
        services.AddSingleton<ImportService>();
        services.AddSingleton<ImportLockStore>();
        services.AddOptions<SecretOptions>().BindConfiguration(SecretOptions.Section);
        services.AddSingleton<ISecretStore>(sp => sp.GetRequiredService<IOptions<SecretOptions>>().Value.KeyVaultUri is null
            ? ActivatorUtilities.CreateInstance<LocalSecretStore>(sp)
            : ActivatorUtilities.CreateInstance<KeyVaultSecretStore>(sp));
        services.AddSingleton<RegistryCredentialStore>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<GraphQLEndpoint>();
        services.AddPipelineRegistry();
        services.AddPipelineFleet();
        services.AddGraphQL(b => b
            .AddSchema<PipelineSchema>()
            .AddGraphTypes(typeof(PipelineSchema).Assembly)
            .AddSystemTextJson()
            .AddErrorInfoProvider<PipelineErrorInfoProvider>());
        return services;
    }

    /// <summary>The orchestrations and activities of the pipeline, for a DurableTask worker.</summary>
    public static DurableTaskRegistry AddPipelineTasks(this DurableTaskRegistry registry) => registry
        .AddOrchestrator<ImportOrchestrator>()
        .AddActivity<ResolveImageActivity>()
        .AddActivity<RecordBlobsActivity>()
        .AddActivity<SnapshotBlobsActivity>()
        .AddActivity<CommitVersionActivity>()
        .AddActivity<RecordImportFailedActivity>()
        .AddActivity<AcquireImportLockActivity>()
        .AddActivity<ReleaseImportLockActivity>();
}
