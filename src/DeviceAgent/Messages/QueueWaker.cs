using System.Text.Json;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using DeviceAgent.Progress;

namespace DeviceAgent.Messages;

/// <summary>
/// Deployment messages from the local Azure Storage queue <c>deployments</c>, which every device
/// shares. Each sweep receives what is visible (up to <see cref="MaxBatchesPerSweep"/> batches, so
/// other devices' messages cannot hide this device's), acts on this device's messages, and at the
/// end of the sweep makes every other device's message visible again at once. A message of this
/// device is deleted after the round it woke; one already handled (<c>message_id</c> seen) is
/// deleted at once; one that is not due yet (<c>not_before</c>) is sent again for the rest of its wait.
/// </summary>
internal sealed class QueueWaker(QueueClient queue, string deviceId, AgentLog log) : IMessageWaker
{
    public const string QueueName = "deployments";
    private const int BatchSize = 32;
    private const int MaxBatchesPerSweep = 20;
    private const int SeenCapacity = 1000;
    private static readonly TimeSpan SweepVisibility = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MinIdle = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxIdle = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxErrorPause = TimeSpan.FromSeconds(30);

    /// <summary>The queue refuses a visibility delay beyond seven days.</summary>
    private static readonly TimeSpan MaxDelay = TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1);

    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Queue<string> _seenOrder = new();

    public static QueueWaker Create(string connectionString, string deviceId, AgentLog log) =>
        new(new QueueClient(connectionString, QueueName), deviceId, log);

    public async Task RunAsync(WakeSignal signal, CancellationToken cancellationToken)
    {
        var pause = MinIdle;
        bool warned = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                bool mine = await SweepAsync(signal, cancellationToken).ConfigureAwait(false);
                pause = mine ? MinIdle : Min(pause * 2, MaxIdle);
                warned = false;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                // No queue yet (nothing was ever published) or storage away: messages only wake early, so wait and look again.
                if (!warned && !(e is RequestFailedException { Status: 404 }))
                {
                    log.Warn($"deployment queue: {e.Message.Split('\n')[0]}; the target is still polled");
                    warned = true;
                }
                pause = Min(pause * 2, MaxErrorPause);
            }
            try
            {
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<bool> SweepAsync(WakeSignal signal, CancellationToken cancellationToken)
    {
        var others = new List<QueueMessage>();
        bool mine = false;
        try
        {
            for (int batch = 0; batch < MaxBatchesPerSweep; batch++)
            {
                QueueMessage[] messages = (await queue.ReceiveMessagesAsync(BatchSize, SweepVisibility, cancellationToken).ConfigureAwait(false)).Value;
                if (messages.Length == 0)
                {
                    break;
                }
                foreach (var message in messages)
                {
                    var body = Parse(message);
                    if (body?.DeviceId != deviceId)
                    {
                        others.Add(message);
                        continue;
                    }
                    mine = true;
                    await HandleAsync(message, body, signal).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            // Another device's message: back on the queue at once (not when the sweep's visibility runs out).
            foreach (var other in others)
            {
                await IgnoreGoneAsync(() => queue.UpdateMessageAsync(other.MessageId, other.PopReceipt, other.Body, TimeSpan.Zero)).ConfigureAwait(false);
            }
        }
        return mine;
    }

    private async Task HandleAsync(QueueMessage message, DeploymentMessage body, WakeSignal signal)
    {
        string id = body.MessageId ?? message.MessageId;
        var now = DateTimeOffset.UtcNow;
        if (body.NotBefore is { } due && due > now + TimeSpan.FromSeconds(1))
        {
            // Early (the queue caps a delay at seven days): put it back for the rest of its wait.
            var delay = Min(due - now, MaxDelay);
            await queue.SendMessageAsync(message.Body, delay, TimeSpan.FromSeconds(-1)).ConfigureAwait(false);
            await IgnoreGoneAsync(() => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt)).ConfigureAwait(false);
            log.Info($"deployment message {id}: due at {due:u}; put back until then");
            return;
        }
        if (!Remember(id))
        {
            // Handled before (a resend, or it came back while its round was still running).
            await IgnoreGoneAsync(() => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt)).ConfigureAwait(false);
            return;
        }
        log.Info($"deployment message {id}: version {body.ContainerVersion} for {body.NodeServiceInstanceId}; waking");
        signal.Wake(() => IgnoreGoneAsync(() => queue.DeleteMessageAsync(message.MessageId, message.PopReceipt)));
    }

    private bool Remember(string id)
    {
        if (!_seen.Add(id))
        {
            return false;
        }
        _seenOrder.Enqueue(id);
        if (_seenOrder.Count > SeenCapacity)
        {
            _seen.Remove(_seenOrder.Dequeue());
        }
        return true;
    }

    private static DeploymentMessage? Parse(QueueMessage message)
    {
        try
        {
            return JsonSerializer.Deserialize(message.Body.ToMemory().Span, AgentJsonContext.Default.DeploymentMessage);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A message whose pop receipt went stale (taken by another consumer, or back after its visibility) is not ours to settle.</summary>
    private static async Task IgnoreGoneAsync(Func<Task> settle)
    {
        try
        {
            await settle().ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 400)
        {
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
