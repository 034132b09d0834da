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
        services.TryAddSingleton<IRegistryHostResolver, DnsRegistryHostResolver>();
        services.TryAddSingleton<IRegistrySocketConnector, RegistrySocketConnector>();
        services.TryAddSingleton<RegistryConnectGuard>();

        services.AddHttpClient(RegistryClient.HttpClientName, (sp, client) =>
            {
                client.Timeout = sp.GetRequiredService<IOptions<RegistryOptions>>().Value.ResponseHeadersTimeout;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("pipeline-registry-client/1.0");
            })
            // The guard resolves and checks every host at connect time (SSRF, DNS rebinding); redirects are
            // followed by RegistryHttp, which drops Authorization when the origin changes.
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                ConnectCallback = sp.GetRequiredService<RegistryConnectGuard>().ConnectAsync,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                // A proxy would hide the real destination from connect-time checks.
                UseProxy = false,
                ConnectTimeout = TimeSpan.FromSeconds(15),
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                MaxResponseHeadersLength = 64,
            })
            // The handler is long-lived; PooledConnectionLifetime renews connections (and DNS answers) instead.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);

        services.TryAddSingleton<IRegistryClient, RegistryClient>();
        return services;
    }
}
