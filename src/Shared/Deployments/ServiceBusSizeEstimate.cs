using System.Text;
using Azure.Messaging.ServiceBus;

namespace Pipeline.Deployments;

/// <summary>
/// Estimated AMQP sizes of deployment messages and batches planned by them, without a connection:
/// for benchmarks and capacity checks. Sending decides with the SDK's own accounting
/// (<see cref="ServiceBusMessageBatch.TryAddMessage"/>), which this approximates on the high side.
/// </summary>
public static class ServiceBusSizeEstimate
{
    /// <summary>
    /// Splits <paramref name="messages"/>, in order, into batches whose <em>estimated</em> AMQP size
    /// (see <see cref="MessageSize"/>) stays within <paramref name="maxBatchBytes"/>. Needs no
    /// connection, so a benchmark or a capacity check can use it; sending relies on the SDK's own
    /// accounting (<see cref="ServiceBusMessageBatch.TryAddMessage"/>) instead, which this only
    /// approximates, slightly on the high side.
    /// </summary>
    /// <exception cref="PipelineException"><c>TOO_LARGE</c>: a message does not fit even alone.</exception>
    public static IReadOnlyList<IReadOnlyList<ServiceBusMessage>> PlanBatches(IEnumerable<ServiceBusMessage> messages, long maxBatchBytes)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatchBytes);
        var batches = new List<IReadOnlyList<ServiceBusMessage>>();
        var current = new List<ServiceBusMessage>();
        long used = 0;
        foreach (ServiceBusMessage message in messages)
        {
            long size = MessageSize(message);
            if (current.Count > 0 && used + size <= maxBatchBytes)
            {
                current.Add(message);
                used += size;
                continue;
            }
            if (current.Count > 0)
            {
                batches.Add(current);
                current = [];
            }
            // The batch envelope copies the first message's ids, so its cost depends on that message.
            used = BatchEnvelopeSize(message) + size;
            if (used > maxBatchBytes)
            {
                throw ServiceBusDeploymentPublisher.TooLarge(message, maxBatchBytes);
            }
            current.Add(message);
        }
        if (current.Count > 0)
        {
            batches.Add(current);
        }
        return batches;
    }

    /// <summary>
    /// An estimate of the bytes <paramref name="message"/> adds to a batch as the SDK encodes it
    /// (AMQP sections, the set properties and application properties, the body, and the batch's
    /// framing of it). Constants from measuring the SDK's encoding: a few per cent above it for
    /// typical deployment messages, never below it for the property types used here.
    /// </summary>
    public static long MessageSize(ServiceBusMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        long size = EstimatedMessageOverheadBytes + message.Body.ToMemory().Length
            + TextSize(message.MessageId) + TextSize(message.SessionId) + TextSize(message.CorrelationId)
            + TextSize(message.Subject) + TextSize(message.ContentType) + TextSize(message.To)
            + TextSize(message.ReplyTo) + TextSize(message.ReplyToSessionId);
        if (message.PartitionKey is { } partitionKey)
        {
            size += EstimatedAnnotationBytes + TextSize(partitionKey);
        }
        if (message.TimeToLive != TimeSpan.MaxValue)
        {
            size += EstimatedAnnotationBytes;
        }
        if (message.ScheduledEnqueueTime != default)
        {
            size += EstimatedScheduleAnnotationBytes;
        }
        foreach (var (key, value) in message.ApplicationProperties)
        {
            size += TextSize(key) + ValueSize(value);
        }
        return size;
    }

    /// <summary>The batch's own envelope, which repeats the first message's ids.</summary>
    internal static long BatchEnvelopeSize(ServiceBusMessage first) =>
        EstimatedBatchEnvelopeBytes + TextSize(first.MessageId) + TextSize(first.SessionId)
        + (first.PartitionKey is { } partitionKey ? EstimatedAnnotationBytes + TextSize(partitionKey) : 0);

    // Section descriptors, list and map headers, empty fields, and the batch's data-section framing.
    private const int EstimatedMessageOverheadBytes = 48;
    private const int EstimatedBatchEnvelopeBytes = 32;
    private const int EstimatedAnnotationBytes = 32;
    private const int EstimatedScheduleAnnotationBytes = 48;

    /// <summary>An AMQP string: UTF-8 bytes behind a one-byte (up to 255) or four-byte length.</summary>
    private static long TextSize(string? text)
    {
        if (text is null)
        {
            return 0;
        }
        int bytes = Encoding.UTF8.GetByteCount(text);
        return bytes + (bytes <= byte.MaxValue ? 2 : 5);
    }

    private static long ValueSize(object? value) => value switch
    {
        null or bool => 1,
        string s => TextSize(s),
        byte or sbyte => 2,
        short or ushort => 3,
        int or uint or float or char => 5,
        long or ulong or double or DateTime => 9,
        decimal or Guid => 17,
        TimeSpan => 40,
        DateTimeOffset => 48,
        Uri uri => 24 + TextSize(uri.OriginalString),
        byte[] bytes => bytes.Length + 5,
        _ => 64,
    };
}
