using System.Text.Json;
using Azure.Storage.Queues;
using Pipeline.Deployments;

namespace Pipeline.Tests.Deployments;

/// <summary>The local deployment queue as a device gateway reads it: raw JSON bodies, each taken once.</summary>
public sealed class DeploymentQueue(string connectionString)
{
    private readonly QueueClient _queue = new(connectionString, QueueDeploymentPublisher.QueueName);

    /// <summary>Messages on the queue, visible or still waiting (an approximate count, exact on Azurite).</summary>
    public async Task<int> CountAsync()
    {
        if (!(await _queue.ExistsAsync()).Value)
        {
            return 0;
        }
        return (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
    }

    /// <summary>Takes every visible message: received, then deleted, as a consumer that handled it does.</summary>
    public async Task<List<JsonElement>> TakeAllAsync()
    {
        var taken = new List<JsonElement>();
        if (!(await _queue.ExistsAsync()).Value)
        {
            return taken;
        }
        while (true)
        {
            var batch = (await _queue.ReceiveMessagesAsync(maxMessages: 32, visibilityTimeout: TimeSpan.FromMinutes(10))).Value;
            if (batch.Length == 0)
            {
                return taken;
            }
            foreach (var m in batch)
            {
                taken.Add(JsonDocument.Parse(m.Body.ToString()).RootElement.Clone());
                await _queue.DeleteMessageAsync(m.MessageId, m.PopReceipt);
            }
        }
    }

    /// <summary>Takes messages until one satisfies <paramref name="match"/> or the time is up; returns all taken.</summary>
    public async Task<List<JsonElement>> TakeUntilAsync(Func<JsonElement, bool> match, TimeSpan timeout)
    {
        var taken = new List<JsonElement>();
        var deadline = DateTime.UtcNow + timeout;
        while (!taken.Any(match))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no such message within {timeout}; taken: {string.Join(", ", taken.Select(t => t.GetProperty("message_id").GetString()))}");
            taken.AddRange(await TakeAllAsync());
            await Task.Delay(100);
        }
        return taken;
    }
}
