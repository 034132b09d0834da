using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
namespace Pipeline.Registry;

/// <summary>Registers the OCI registry pull client (ARCHITECTURE.md, "Registry").</summary>
public static class RegistryServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="RegistryOptions"/> (section <c>Pipeline:Registry</c>, validated at start-up),
    /// the named HttpClient <see cref="RegistryClient.HttpClientName"/> and <see cref="IRegistryClient"/>.
    /// </summary>
    public static IServiceCollection AddPipelineRegistry(this IServiceCollection services)
    {
        services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RegistryOptions>, RegistryOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.AddHttpClient(RegistryClient.HttpClientName, (sp, client) =>
            {
                client.Timeout = sp.GetRequiredService<IOptions<RegistryOptions>>().Value.ResponseHeadersTimeout;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("pipeline-registry-client/1.0");
            })
            // A SocketsHttpHandler so that a ConnectCallback (address checks at connect time) can be added;
            // redirects are followed by RegistryHttp, which drops Authorization when the origin changes.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                // A proxy would hide the real destination from connect-time checks.
                UseProxy = false,
                ConnectTimeout = TimeSpan.FromSeconds(15),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                MaxResponseHeadersLength = 64,
            });

        services.TryAddSingleton<IRegistryClient, RegistryClient>();
        return services;
    }
}
