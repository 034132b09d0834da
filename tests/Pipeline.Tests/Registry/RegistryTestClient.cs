using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

/// <summary>A <see cref="IRegistryClient"/> built the way hosts build it: configuration + <c>AddPipelineRegistry()</c>.</summary>
internal sealed class RegistryTestClient : IDisposable
{
    private readonly ServiceProvider _services;

    public RegistryTestClient(params string[] insecureHosts)
        : this(Settings(insecureHosts))
    {
    }

    /// <param name="configure">Registers test seams (time, resolver, socket connector) before the client's defaults.</param>
    public RegistryTestClient(IDictionary<string, string?> settings, Action<IServiceCollection>? configure = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        configure?.Invoke(services);
        services.AddPipelineRegistry();
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Client = _services.GetRequiredService<IRegistryClient>();
    }

    public IRegistryClient Client { get; }

    /// <summary>Every log line written, to check that no secret is ever logged.</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public static PullScope Anonymous(string tenant = "tenant-a") => new(tenant, null);

    /// <summary>Test settings: the hosts as InsecureHosts, short pauses between retries.</summary>
    public static Dictionary<string, string?> Settings(params string[] insecureHosts) => new()
    {
        ["Pipeline:Registry:InsecureHosts"] = string.Join(",", insecureHosts),
        ["Pipeline:Registry:TransientRetryDelay"] = "00:00:00.010",
        ["Pipeline:Registry:BlobResumeDelay"] = "00:00:00.010",
    };

    public void Dispose() => _services.Dispose();
}
