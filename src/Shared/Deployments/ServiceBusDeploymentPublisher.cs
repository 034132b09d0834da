using System.Text.Json;
using Azure.Core;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging;

namespace Pipeline.Deployments;

/// <summary>
/// Sends deployment messages (API.md "Deployment messages") to the Service Bus topic. The body is
/// the message's JSON; its ids travel as the Service Bus <c>MessageId</c> and <c>SessionId</c>, and
/// the customer, device, node service and version are repeated as application properties so
/// subscriptions can filter on them. Messages due now go out in size-limited batches; messages for
/// a later update window are scheduled, and their sequence numbers let them be withdrawn.
/// </summary>
/// <remarks>
/// Resending a message is harmless only while the topic has duplicate detection on: every retry
/// here resends the same <c>MessageId</c>s. The sender belongs to whoever made it (the
/// <see cref="ServiceBusClient"/> closes it when disposed).
/// </remarks>
public sealed partial class ServiceBusDeploymentPublisher : IDeploymentPublisher
{
    public const string JsonContentType = "application/json";
    public const string CustomerIdProperty = "customer_id";
    public const string DeviceIdProperty = "device_id";
    public const string NodeServiceIdProperty = "node_service_id";
    public const string ContainerVersionProperty = "container_version";

    /// <summary>Tries per operation, counting the first; the SDK has already retried inside each one.</summary>
    internal const int MaxAttempts = 4;

    /// <summary>The wait before the second try; doubled for each later one, give or take a fifth.</summary>
    internal static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    private readonly ServiceBusSender _sender;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ServiceBusDeploymentPublisher(ServiceBusSender sender, TimeProvider timeProvider, ILogger<ServiceBusDeploymentPublisher> logger)
    {
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _sender = sender;
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>
    /// A client for the configured namespace: a managed identity (the user-assigned one named by
    /// <see cref="ServiceBusOptions.ClientId"/>, else the default credential chain) when a namespace
    /// is given, otherwise the connection string. Create one per process and dispose it at shutdown.
    /// </summary>
    public static ServiceBusClient CreateClient(ServiceBusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.UsesIdentity)
        {
            TokenCredential credential = string.IsNullOrEmpty(options.ClientId)
                ? new DefaultAzureCredential()
                : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(options.ClientId));
            return new ServiceBusClient(options.FullyQualifiedNamespace, credential);
        }
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return new ServiceBusClient(options.ConnectionString);
        }
        throw new InvalidOperationException("Service Bus is not configured: set Pipeline:ServiceBus:FullyQualifiedNamespace or Pipeline:ServiceBus:ConnectionString.");
    }

    /// <summary>A publisher sending to <see cref="ServiceBusOptions.TopicName"/> through <paramref name="client"/>.</summary>
    public static ServiceBusDeploymentPublisher Create(ServiceBusClient client, ServiceBusOptions options, TimeProvider timeProvider, ILogger<ServiceBusDeploymentPublisher> logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        return new ServiceBusDeploymentPublisher(client.CreateSender(options.TopicName), timeProvider, logger);
    }

    /// <summary>
    /// The Service Bus form of a deployment: JSON body without the queue-only fields (Service Bus
    /// carries the ids as message properties and the due time as the schedule), and the fields
    /// subscriptions filter on as application properties.
    /// </summary>
    public static ServiceBusMessage ToServiceBusMessage(OutgoingDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        DeploymentMessage body = deployment.Body with { MessageId = null, SessionId = null, NotBefore = null };
        var message = new ServiceBusMessage(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(body, DeploymentJsonContext.Default.DeploymentMessage)))
        {
            ContentType = JsonContentType,
            MessageId = deployment.MessageId,
            SessionId = deployment.SessionId,
            // The subject mirrors the body's type, so a subscription can route by sys.Label alone.
            Subject = body.Type,
        };
        message.ApplicationProperties[CustomerIdProperty] = body.CustomerId;
        message.ApplicationProperties[DeviceIdProperty] = body.DeviceId;
        message.ApplicationProperties[NodeServiceIdProperty] = body.NodeServiceId;
        message.ApplicationProperties[ContainerVersionProperty] = body.ContainerVersion;
        return message;
    }

    public async Task<IReadOnlyList<ScheduledHandle?>> PublishAsync(IReadOnlyList<OutgoingDeployment> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var handles = new ScheduledHandle?[messages.Count];
        DateTimeOffset now = _time.GetUtcNow();
        var immediate = new List<ServiceBusMessage>();
        // Keyed by instant: the same moment written with different offsets is one group.
        var scheduled = new SortedDictionary<DateTimeOffset, List<(int Index, ServiceBusMessage Message)>>();
        for (int i = 0; i < messages.Count; i++)
        {
            ServiceBusMessage message = ToServiceBusMessage(messages[i]);
            if (messages[i].ScheduledFor is { } due && due > now)
            {
                if (!scheduled.TryGetValue(due, out var group))
                {
                    scheduled[due] = group = [];
                }
                group.Add((i, message));
            }
            else
            {
                immediate.Add(message);
            }
        }

        await SendNowAsync(immediate, cancellationToken).ConfigureAwait(false);
        foreach (var (due, group) in scheduled)
        {
            await ScheduleGroupAsync(due, group, handles, cancellationToken).ConfigureAwait(false);
        }
        return handles;
    }

    public async Task<bool> CancelAsync(ScheduledHandle handle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.SequenceNumber is not { } sequenceNumber)
        {
            throw new ArgumentException("The handle carries no Service Bus sequence number: it was not scheduled on Service Bus.", nameof(handle));
        }
        try
        {
            await WithRetriesAsync("cancel", async ct =>
            {
                await _sender.CancelScheduledMessageAsync(sequenceNumber, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceBusException e) when (e.Reason == ServiceBusFailureReason.MessageNotFound)
        {
            // Already enqueued (its time came) or withdrawn before: nothing left to cancel.
            LogCancelMissed(_logger, sequenceNumber, _sender.EntityPath);
            return false;
        }
        LogCancelled(_logger, sequenceNumber, _sender.EntityPath);
        return true;
    }

    /// <summary>Sends in as few batches as the SDK's own size accounting allows, keeping the order.</summary>
    private async Task SendNowAsync(List<ServiceBusMessage> messages, CancellationToken cancellationToken)
    {
        int next = 0;
        while (next < messages.Count)
        {
            using ServiceBusMessageBatch batch = await CreateBatchAsync(cancellationToken).ConfigureAwait(false);
            int first = next;
            while (next < messages.Count && batch.TryAddMessage(messages[next]))
            {
                next++;
            }
            if (next == first)
            {
                throw TooLarge(messages[first], batch.MaxSizeInBytes);
            }
            // A batch retried after a lost answer may already be on the topic: it goes again whole,
            // with the same MessageIds, and duplicate detection drops the second copy.
            await WithRetriesAsync("send", async ct =>
            {
                await _sender.SendMessagesAsync(batch, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
            LogBatchSent(_logger, batch.Count, _sender.EntityPath);
        }
    }

    /// <summary>
    /// Schedules one due time's messages in chunks a batch says fit. A schedule request wraps each
    /// message with its ids and due time, so it is a little larger than the batch estimate: a chunk
    /// the service still refuses as too large is halved.
    /// </summary>
    private async Task ScheduleGroupAsync(DateTimeOffset due, List<(int Index, ServiceBusMessage Message)> group, ScheduledHandle?[] handles, CancellationToken cancellationToken)
    {
        int next = 0;
        while (next < group.Count)
        {
            int first = next;
            using (ServiceBusMessageBatch estimate = await CreateBatchAsync(cancellationToken).ConfigureAwait(false))
            {
                while (next < group.Count && estimate.TryAddMessage(group[next].Message))
                {
                    next++;
                }
                if (next == first)
                {
                    throw TooLarge(group[first].Message, estimate.MaxSizeInBytes);
                }
            }
            await ScheduleChunkAsync(due, group.GetRange(first, next - first), handles, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ScheduleChunkAsync(DateTimeOffset due, List<(int Index, ServiceBusMessage Message)> chunk, ScheduledHandle?[] handles, CancellationToken cancellationToken)
    {
        IReadOnlyList<long> sequenceNumbers;
        try
        {
            // A retried request that reached the service the first time schedules duplicates that
            // duplicate detection drops; the same MessageIds make that safe.
            sequenceNumbers = await WithRetriesAsync("schedule", ct =>
                _sender.ScheduleMessagesAsync(chunk.Select(c => c.Message).ToList(), due, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (ServiceBusException e) when (e.Reason == ServiceBusFailureReason.MessageSizeExceeded)
        {
            if (chunk.Count == 1)
            {
                throw TooLarge(chunk[0].Message, maxBytes: null, e);
            }
            int half = chunk.Count / 2;
            await ScheduleChunkAsync(due, chunk.GetRange(0, half), handles, cancellationToken).ConfigureAwait(false);
            await ScheduleChunkAsync(due, chunk.GetRange(half, chunk.Count - half), handles, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (sequenceNumbers.Count != chunk.Count)
        {
            throw new InvalidOperationException($"Service Bus returned {sequenceNumbers.Count} sequence numbers for {chunk.Count} scheduled messages.");
        }
        for (int i = 0; i < chunk.Count; i++)
        {
            handles[chunk[i].Index] = new ScheduledHandle(sequenceNumbers[i], null, null);
        }
        LogScheduled(_logger, chunk.Count, due, _sender.EntityPath);
    }

    private Task<ServiceBusMessageBatch> CreateBatchAsync(CancellationToken cancellationToken) =>
        WithRetriesAsync("create batch", ct => _sender.CreateMessageBatchAsync(ct).AsTask(), cancellationToken);

    /// <summary>
    /// Runs <paramref name="operation"/> again after a transient failure (service busy, timeout,
    /// connection lost), waiting longer each time; anything else, or the last failure, propagates
    /// so the durable activity's own retry policy sees it.
    /// </summary>
    private async Task<T> WithRetriesAsync<T>(string operationName, Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(cancellationToken).ConfigureAwait(false);
            }
            catch (ServiceBusException e) when (e.IsTransient && attempt < MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                TimeSpan delay = RetryDelay(attempt);
                LogTransientFailure(_logger, operationName, attempt, e.Reason, (long)delay.TotalMilliseconds, _sender.EntityPath, e);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Exponential, with a little jitter so activities failing together do not retry in step.</summary>
    internal static TimeSpan RetryDelay(int failedAttempt) =>
        FirstRetryDelay * Math.Pow(2, failedAttempt - 1) * (0.8 + (0.4 * Random.Shared.NextDouble()));

    internal static PipelineException TooLarge(ServiceBusMessage message, long? maxBytes, Exception? inner = null) =>
        new(ErrorCodes.TooLarge,
            maxBytes is { } max
                ? $"Deployment message {message.MessageId} ({message.Body.ToMemory().Length} bytes of body) does not fit in a Service Bus batch of {max} bytes."
                : $"Deployment message {message.MessageId} ({message.Body.ToMemory().Length} bytes of body) is larger than Service Bus accepts.",
            inner);


    [LoggerMessage(EventId = 7101, Level = LogLevel.Debug, Message = "Sent a batch of {MessageCount} deployment messages to {EntityPath}")]
    private static partial void LogBatchSent(ILogger logger, int messageCount, string? entityPath);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Debug, Message = "Scheduled {MessageCount} deployment messages on {EntityPath} for {ScheduledFor}")]
    private static partial void LogScheduled(ILogger logger, int messageCount, DateTimeOffset scheduledFor, string? entityPath);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Warning, Message = "Service Bus {Operation} on {EntityPath} failed transiently (attempt {Attempt}, {Reason}); retrying in {DelayMs} ms")]
    private static partial void LogTransientFailure(ILogger logger, string operation, int attempt, ServiceBusFailureReason reason, long delayMs, string? entityPath, Exception exception);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Information, Message = "Withdrew scheduled deployment message {SequenceNumber} from {EntityPath}")]
    private static partial void LogCancelled(ILogger logger, long sequenceNumber, string? entityPath);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Information, Message = "Scheduled deployment message {SequenceNumber} on {EntityPath} was already enqueued or withdrawn")]
    private static partial void LogCancelMissed(ILogger logger, long sequenceNumber, string? entityPath);
}
