using System.Text.Json;
using Azure;
using Azure.Storage.Queues;
using Pipeline.Storage;

namespace Pipeline.Deployments;

/// <summary>
/// Deployment messages on the storage queue <c>deployments</c> (the local default). The queue has
/// no message properties, so the body carries <c>message_id</c> and <c>session_id</c> (consumers
/// drop a <c>message_id</c> they have seen); a scheduled message is sent invisible until it is
/// due, for at most the queue's longest visibility delay, and carries <c>not_before</c> so a
/// consumer that gets it earlier puts it back for the rest of the wait.
/// </summary>
public sealed class QueueDeploymentPublisher : IDeploymentPublisher
{
    public const string QueueName = "deployments";

    /// <summary>The storage queue refuses a visibility delay beyond seven days.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1);

    /// <summary>Sends in flight at once: each message is a request of its own on this transport.</summary>
    private const int Parallelism = 32;

    private readonly QueueClient _queue;
    private readonly TimeProvider _time;
    private readonly Lazy<Task> _created;

    public QueueDeploymentPublisher(PipelineStorage storage, TimeProvider time)
    {
        _queue = storage.Queues.GetQueueClient(QueueName);
        _time = time;
        _created = new Lazy<Task>(() => _queue.CreateIfNotExistsAsync());
    }

    public async Task<IReadOnlyList<ScheduledHandle?>> PublishAsync(IReadOnlyList<OutgoingDeployment> messages, CancellationToken cancellationToken)
    {
        await _created.Value.ConfigureAwait(false);
        var handles = new ScheduledHandle?[messages.Count];
        var now = _time.GetUtcNow();
        await Parallel.ForEachAsync(Enumerable.Range(0, messages.Count), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var m = messages[i];
            var delay = m.ScheduledFor is { } due && due > now ? Min(due - now, MaxDelay) : (TimeSpan?)null;
            var body = m.Body with { MessageId = m.MessageId, SessionId = m.SessionId, NotBefore = delay is null ? null : m.ScheduledFor };
            string text = JsonSerializer.Serialize(body, DeploymentJsonContext.Default.DeploymentMessage);
            // Kept until a device takes it: a device offline for a week still finds its message.
            var receipt = await _queue.SendMessageAsync(text, delay, TimeSpan.FromSeconds(-1), ct).ConfigureAwait(false);
            handles[i] = delay is null ? null : new ScheduledHandle(null, receipt.Value.MessageId, receipt.Value.PopReceipt);
        }).ConfigureAwait(false);
        return handles;
    }

    public async Task<bool> CancelAsync(ScheduledHandle handle, CancellationToken cancellationToken)
    {
        if (handle.QueueMessageId is null || handle.PopReceipt is null)
        {
            return false;
        }
        try
        {
            await _queue.DeleteMessageAsync(handle.QueueMessageId, handle.PopReceipt, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 400)
        {
            // Gone, or taken by a consumer since (its pop receipt changed): it was delivered.
            return false;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
