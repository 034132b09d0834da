using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using DeviceAgent.Messages;
using DeviceAgent.Progress;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// The agent's reader of the shared local queue (README "Deployment messages") on a queue of its
/// own in Azurite: it wakes on its own device's message and deletes it only after the round, gives
/// other devices' messages back at once, drops a <c>message_id</c> it already handled, and puts an
/// early <c>not_before</c> message back for the rest of its wait.
/// </summary>
public sealed class QueueWakerTests : IAsyncLifetime
{
    private const string Device = "gw-queue-1";

    private QueueClient _queue = null!;

    public async Task InitializeAsync()
    {
        var azurite = await AzuriteFixture.GetSharedAsync();
        _queue = new QueueClient(azurite.ConnectionString, "agent-" + Guid.NewGuid().ToString("N")[..12]);
        await _queue.CreateAsync();
    }

    public async Task DisposeAsync() => await _queue.DeleteIfExistsAsync();

    [Fact]
    public async Task Sweep_MixedQueue_WakesOnceForItsDeviceAndLeavesTheRestWhereItBelongs()
    {
        await SendAsync(Device, "i-1:2");
        await SendAsync("gw-other", "i-9:2");
        await SendAsync(Device, "i-1:2");
        await SendAsync(Device, "i-1:3", notBefore: DateTimeOffset.UtcNow.AddHours(1));
        var signal = new WakeSignal();
        using var log = new StringWriter();
        var waker = new QueueWaker(_queue, Device, new AgentLog(false, log, log));
        using var stop = new CancellationTokenSource();

        var running = waker.RunAsync(signal, stop.Token);
        Assert.True(await signal.WaitAsync(TimeSpan.FromSeconds(10), default), "no wake:\n" + log);
        await Task.Delay(1500);
        await stop.CancelAsync();
        await running;
        var completions = signal.TakePending();
        // The other device's message is visible again while this device's round is still running.
        var visible = (await _queue.PeekMessagesAsync(32)).Value.Select(m => JsonNode.Parse(m.Body.ToString())!["message_id"]!.GetValue<string>()).ToList();
        foreach (var complete in completions)
        {
            await complete();
        }

        Assert.Single(completions);
        Assert.Equal(["i-9:2"], visible);
        Assert.Contains("due at", log.ToString());
        // Left on the queue: the other device's message and the early one, now invisible for the rest of its hour.
        Assert.Equal(2, (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Equal(["i-9:2"], (await _queue.PeekMessagesAsync(32)).Value.Select(m => JsonNode.Parse(m.Body.ToString())!["message_id"]!.GetValue<string>()));
    }

    private Task SendAsync(string device, string messageId, DateTimeOffset? notBefore = null) =>
        _queue.SendMessageAsync(new JsonObject
        {
            ["type"] = "deploy",
            ["customer_id"] = "c",
            ["device_id"] = device,
            ["node_service_instance_id"] = messageId.Split(':')[0],
            ["node_service_id"] = "s",
            ["container_version"] = int.Parse(messageId.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture),
            ["arch"] = "amd64",
            ["plan_url"] = "/api/devices/x/instances/y/plan",
            ["message_id"] = messageId,
            ["session_id"] = device,
            ["not_before"] = notBefore,
        }.ToJsonString());
}
