using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Deployments;

namespace Pipeline.Tests.Deployments;

public sealed class DeploymentServicesTests
{
    private static IDeploymentPublisher Publisher(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddPipeline();
        return services.BuildServiceProvider().GetRequiredService<IDeploymentPublisher>();
    }

    [Fact]
    public void AddPipeline_NoServiceBus_PublishesToTheStorageQueue()
    {
        Assert.IsType<QueueDeploymentPublisher>(Publisher());
    }

    [Fact]
    public void AddPipeline_ServiceBusNamespace_PublishesToServiceBus()
    {
        Assert.IsType<ServiceBusDeploymentPublisher>(Publisher(("Pipeline:ServiceBus:FullyQualifiedNamespace", "sb-test.servicebus.windows.net")));
    }

    [Fact]
    public void AddPipeline_NamespaceAndConnectionString_RefusedAtStart()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pipeline:ServiceBus:FullyQualifiedNamespace"] = "sb-test.servicebus.windows.net",
            ["Pipeline:ServiceBus:ConnectionString"] = "Endpoint=sb://sb-test.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0",
        }).Build();
        var provider = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddPipeline().BuildServiceProvider();

        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ServiceBusOptions>>().Value);
    }
}
