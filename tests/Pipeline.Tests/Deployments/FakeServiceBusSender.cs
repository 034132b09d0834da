using Azure.Messaging.ServiceBus;

namespace Pipeline.Tests.Deployments;

/// <summary>
/// A Service Bus sender at the SDK's own seam: batches come from
/// <see cref="ServiceBusModelFactory"/> with a size limit this class enforces, sends and schedules
/// are recorded, and faults can be switched on. What the topic kept, with duplicate detection, is
/// <see cref="Delivered"/>. Only the calls the publisher is meant to use are implemented; the rest
/// throw, so a test notices a different path.
/// </summary>
internal sealed class FakeServiceBusSender : ServiceBusSender
{
    private readonly Dictionary<ServiceBusMessageBatch, List<ServiceBusMessage>> _batchContents = new(ReferenceEqualityComparer.Instance);
    private readonly List<ServiceBusMessage> _accepted = [];
    private long _nextSequenceNumber = 1000;

    /// <summary>Largest batch, in <see cref="ApproximateSize"/> units.</summary>
    public long MaxBatchBytes { get; set; } = 256 * 1024;

    /// <summary>The next this many send, schedule or cancel calls fail with a transient ServiceBusy.</summary>
    public int TransientFailures { get; set; }

    /// <summary>Transient failures happen after the service took the messages (the answer was lost), not before.</summary>
    public bool FailAfterAccepting { get; set; }

    /// <summary>Every send, schedule or cancel call fails with this reason, not transient.</summary>
    public ServiceBusFailureReason? PermanentFailure { get; set; }

    /// <summary>Schedule requests with more messages than this are refused as too large.</summary>
    public int? MaxScheduledPerRequest { get; set; }

    public int BatchesCreated { get; private set; }

    public int SendCalls { get; private set; }

    public int ScheduleCalls { get; private set; }

    /// <summary>Batches the service accepted, each with the messages in it, in order.</summary>
    public List<IReadOnlyList<ServiceBusMessage>> SentBatches { get; } = [];

    /// <summary>Schedule requests the service accepted: due time, messages, sequence numbers.</summary>
    public List<(DateTimeOffset At, IReadOnlyList<ServiceBusMessage> Messages, IReadOnlyList<long> SequenceNumbers)> Scheduled { get; } = [];

    public List<long> Cancelled { get; } = [];

    /// <summary>What the topic kept: every accepted message once per MessageId, as duplicate detection does.</summary>
    public IReadOnlyList<ServiceBusMessage> Delivered => _accepted.DistinctBy(m => m.MessageId).ToList();

    /// <summary>Every message the service accepted, duplicates included.</summary>
    public IReadOnlyList<ServiceBusMessage> Accepted => _accepted;

    /// <summary>The size this fake charges a message against <see cref="MaxBatchBytes"/>.</summary>
    public static long ApproximateSize(ServiceBusMessage message) => message.Body.ToMemory().Length + 100;

    public override ValueTask<ServiceBusMessageBatch> CreateMessageBatchAsync(CancellationToken cancellationToken = default) =>
        CreateMessageBatchAsync(new CreateMessageBatchOptions(), cancellationToken);

    public override ValueTask<ServiceBusMessageBatch> CreateMessageBatchAsync(CreateMessageBatchOptions options, CancellationToken cancellationToken = default)
    {
        BatchesCreated++;
        var store = new List<ServiceBusMessage>();
        long used = 0;
        var batch = ServiceBusModelFactory.ServiceBusMessageBatch(0, store, new CreateMessageBatchOptions { MaxSizeInBytes = MaxBatchBytes }, message =>
        {
            long size = ApproximateSize(message);
            if (used + size > MaxBatchBytes)
            {
                return false;
            }
            used += size;
            return true;
        });
        _batchContents[batch] = store;
        return ValueTask.FromResult(batch);
    }

    public override Task SendMessagesAsync(ServiceBusMessageBatch messageBatch, CancellationToken cancellationToken = default)
    {
        SendCalls++;
        List<ServiceBusMessage> messages = _batchContents[messageBatch];
        Fault(() => Accept(messages));
        SentBatches.Add(messages.ToList());
        return Task.CompletedTask;
    }

    public override Task<IReadOnlyList<long>> ScheduleMessagesAsync(IEnumerable<ServiceBusMessage> messages, DateTimeOffset scheduledEnqueueTime, CancellationToken cancellationToken = default)
    {
        ScheduleCalls++;
        var list = messages.ToList();
        if (list.Count > MaxScheduledPerRequest)
        {
            throw new ServiceBusException(false, "The request was too large.", "deployments", ServiceBusFailureReason.MessageSizeExceeded);
        }
        Fault(() => Accept(list));
        IReadOnlyList<long> sequenceNumbers = list.Select(_ => _nextSequenceNumber++).ToList();
        Scheduled.Add((scheduledEnqueueTime, list, sequenceNumbers));
        return Task.FromResult(sequenceNumbers);
    }

    public override Task CancelScheduledMessageAsync(long sequenceNumber, CancellationToken cancellationToken = default)
    {
        Fault(accept: null);
        bool known = Scheduled.Any(s => s.SequenceNumbers.Contains(sequenceNumber));
        if (!known || Cancelled.Contains(sequenceNumber))
        {
            throw new ServiceBusException(false, $"Sequence number {sequenceNumber} not found.", "deployments", ServiceBusFailureReason.MessageNotFound);
        }
        Cancelled.Add(sequenceNumber);
        return Task.CompletedTask;
    }

    public override Task SendMessageAsync(ServiceBusMessage message, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("The publisher should send batches.");

    public override Task SendMessagesAsync(IEnumerable<ServiceBusMessage> messages, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("The publisher should send batches made with CreateMessageBatchAsync.");

    public override Task<long> ScheduleMessageAsync(ServiceBusMessage message, DateTimeOffset scheduledEnqueueTime, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("The publisher should schedule messages in sets.");

    /// <summary>Throws the configured fault, if any; <paramref name="accept"/> runs first when the fault strikes after acceptance.</summary>
    private void Fault(Action? accept)
    {
        if (PermanentFailure is { } reason)
        {
            throw new ServiceBusException(false, "Not allowed.", "deployments", reason);
        }
        if (TransientFailures > 0)
        {
            TransientFailures--;
            if (FailAfterAccepting)
            {
                accept?.Invoke();
            }
            throw new ServiceBusException(true, "The service is busy.", "deployments", ServiceBusFailureReason.ServiceBusy);
        }
        accept?.Invoke();
    }

    private void Accept(List<ServiceBusMessage> messages) => _accepted.AddRange(messages);
}
