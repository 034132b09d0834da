using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Options;

namespace Pipeline.Deployments;

/// <summary>
/// Where deployment messages go in Azure (configuration section <c>Pipeline:ServiceBus</c>, API.md
/// "Configuration" and "Deployment messages"): a Service Bus namespace reached with a managed
/// identity, or a connection string where no identity exists. Neither set: the local storage
/// queue takes the messages instead.
/// </summary>
public sealed class ServiceBusOptions
{
    public const string Section = "Pipeline:ServiceBus";

    public const string DefaultTopicName = "deployments";

    /// <summary>Host name of the namespace, such as <c>contoso.servicebus.windows.net</c>; reached with a managed identity.</summary>
    public string? FullyQualifiedNamespace { get; set; }

    /// <summary>A shared-access connection string, for places without a managed identity. Never logged.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Client id of a user-assigned managed identity; empty for the default credential chain.</summary>
    public string? ClientId { get; set; }

    /// <summary>The topic the devices' subscriptions hang off.</summary>
    public string TopicName { get; set; } = DefaultTopicName;

    /// <summary>Whether Service Bus is configured at all (otherwise the storage queue is used).</summary>
    public bool Configured => !string.IsNullOrWhiteSpace(FullyQualifiedNamespace) || !string.IsNullOrWhiteSpace(ConnectionString);

    /// <summary>Whether the namespace is reached with a managed identity rather than a connection string.</summary>
    public bool UsesIdentity => !string.IsNullOrWhiteSpace(FullyQualifiedNamespace);
}

/// <summary>Start-up validation of <see cref="ServiceBusOptions"/>. Failure messages never repeat the connection string.</summary>
internal sealed class ServiceBusOptionsValidator : IValidateOptions<ServiceBusOptions>
{
    // Service Bus entity names: letters, digits, '.', '-', '_' and '/' (nested paths), at most 260 characters.
    private const int MaxTopicNameLength = 260;

    public ValidateOptionsResult Validate(string? name, ServiceBusOptions options)
    {
        var failures = new List<string>();
        bool hasNamespace = !string.IsNullOrWhiteSpace(options.FullyQualifiedNamespace);
        bool hasConnectionString = !string.IsNullOrWhiteSpace(options.ConnectionString);

        if (hasNamespace && hasConnectionString)
        {
            // Two ways in is ambiguous about which credential the deployment actually uses.
            failures.Add("Set either Pipeline:ServiceBus:FullyQualifiedNamespace (managed identity) or Pipeline:ServiceBus:ConnectionString, not both.");
        }
        if (hasNamespace && Uri.CheckHostName(options.FullyQualifiedNamespace) != UriHostNameType.Dns)
        {
            failures.Add("Pipeline:ServiceBus:FullyQualifiedNamespace must be a host name such as contoso.servicebus.windows.net (no scheme, port or path).");
        }
        if (hasConnectionString)
        {
            CheckConnectionString(options, failures);
        }
        if (!string.IsNullOrWhiteSpace(options.ClientId))
        {
            if (!Guid.TryParse(options.ClientId, out _))
            {
                failures.Add("Pipeline:ServiceBus:ClientId must be the client id (a GUID) of a user-assigned managed identity.");
            }
            else if (hasConnectionString && !hasNamespace)
            {
                // A connection string carries its own key: an identity set beside it would be silently unused.
                failures.Add("Pipeline:ServiceBus:ClientId only applies with Pipeline:ServiceBus:FullyQualifiedNamespace, not with a connection string.");
            }
        }
        if (!IsEntityName(options.TopicName))
        {
            failures.Add("Pipeline:ServiceBus:TopicName must be 1 to 260 letters, digits, '.', '-', '_' or '/', such as deployments.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckConnectionString(ServiceBusOptions options, List<string> failures)
    {
        ServiceBusConnectionStringProperties properties;
        try
        {
            properties = ServiceBusConnectionStringProperties.Parse(options.ConnectionString);
        }
        catch (FormatException)
        {
            failures.Add("Pipeline:ServiceBus:ConnectionString is not a Service Bus connection string (Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…).");
            return;
        }
        if (properties.Endpoint is null)
        {
            failures.Add("Pipeline:ServiceBus:ConnectionString has no Endpoint.");
        }
        // A connection string scoped to one entity can only open a sender for that entity.
        if (!string.IsNullOrEmpty(properties.EntityPath) && !string.Equals(properties.EntityPath, options.TopicName, StringComparison.Ordinal))
        {
            failures.Add("Pipeline:ServiceBus:ConnectionString is scoped to another entity than Pipeline:ServiceBus:TopicName.");
        }
    }

    private static bool IsEntityName(string? topic) =>
        !string.IsNullOrEmpty(topic)
        && topic.Length <= MaxTopicNameLength
        && topic[0] != '/' && topic[^1] != '/'
        && topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '/');
}
