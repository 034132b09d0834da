using System.Text.Json;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using DeviceAgent.Progress;

namespace DeviceAgent.Messages;

/// <summary>
/// Deployment messages from the Service Bus topic <c>deployments</c>: a session processor that
/// accepts only the session whose id is this device's id on the given subscription (README
/// "Subscribing (Azure)"). Each message wakes the run loop and is completed once the round it
/// woke has finished; the processor renews the locks meanwhile and reconnects by itself.
/// </summary>
internal sealed class ServiceBusWaker(ServiceBusClient client, string subscription, string deviceId, AgentLog log) : IMessageWaker
{
    public const string TopicName = "deployments";

    /// <summary>Longest a message stays locked while its round runs (large downloads on slow links).</summary>
    private static readonly TimeSpan MaxLockRenewal = TimeSpan.FromHours(2);

    /// <summary>
    /// With a namespace (<c>name.servicebus.windows.net</c>) the device signs in with its Entra ID
    /// identity (the namespace has SAS turned off); a connection string is for emulators and tests.
    /// </summary>
    public static ServiceBusWaker Create(string? fullyQualifiedNamespace, string? connectionString, string subscription, string deviceId, AgentLog log)
    {
        var client = !string.IsNullOrWhiteSpace(fullyQualifiedNamespace)
            ? new ServiceBusClient(fullyQualifiedNamespace, new DefaultAzureCredential())
            : new ServiceBusClient(connectionString);
        return new ServiceBusWaker(client, subscription, deviceId, log);
    }

    public async Task RunAsync(WakeSignal signal, CancellationToken cancellationToken)
    {
        var options = new ServiceBusSessionProcessorOptions
        {
            AutoCompleteMessages = false,
            MaxConcurrentSessions = 1,
            MaxConcurrentCallsPerSession = 1,
            MaxAutoLockRenewalDuration = MaxLockRenewal,
            SessionIdleTimeout = TimeSpan.FromMinutes(1),
        };
        options.SessionIds.Add(deviceId);
        await using var processor = client.CreateSessionProcessor(TopicName, subscription, options);
        processor.ProcessMessageAsync += args => HandleAsync(args, signal, cancellationToken);
        processor.ProcessErrorAsync += args =>
        {
            log.Warn($"deployment messages (Service Bus {args.ErrorSource}): {args.Exception.Message.Split('\n')[0]}; the target is still polled");
            return Task.CompletedTask;
        };
        await processor.StartProcessingAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await processor.StopProcessingAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => client.DisposeAsync();

    private async Task HandleAsync(ProcessSessionMessageEventArgs args, WakeSignal signal, CancellationToken cancellationToken)
    {
        DeploymentMessage? body = null;
        try
        {
            body = JsonSerializer.Deserialize(args.Message.Body.ToMemory().Span, AgentJsonContext.Default.DeploymentMessage);
        }
        catch (JsonException)
        {
            // Not a deployment message: it still woke us, and the target says what to do.
        }
        log.Info($"deployment message {args.Message.MessageId}: version {body?.ContainerVersion} for {body?.NodeServiceInstanceId}; waking");
        var acted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        signal.Wake(() =>
        {
            acted.TrySetResult();
            return Task.CompletedTask;
        });
        // Held (its lock renewed by the processor) until a round has acted on it, then completed.
        await acted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await args.CompleteMessageAsync(args.Message, CancellationToken.None).ConfigureAwait(false);
    }
}
