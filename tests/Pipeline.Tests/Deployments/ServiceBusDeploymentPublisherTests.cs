using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Messaging.ServiceBus;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Framing;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Deployments;

namespace Pipeline.Tests.Deployments;

public sealed class ServiceBusDeploymentPublisherTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly FakeServiceBusSender _sender = new();
    private readonly StoppedClock _clock = new();
    private readonly ServiceBusDeploymentPublisher _publisher;

    public ServiceBusDeploymentPublisherTests() =>
        _publisher = new ServiceBusDeploymentPublisher(_sender, _clock, NullLogger<ServiceBusDeploymentPublisher>.Instance);

    [Fact]
    public async Task PublishAsync_250MessagesOverBatchLimit_SendsThreeBatchesInOrder()
    {
        var deployments = Enumerable.Range(1, 250).Select(n => Deployment(n)).ToList();
        long one = ApproximateSize(deployments[0]);
        Assert.All(deployments, d => Assert.Equal(one, ApproximateSize(d)));
        _sender.MaxBatchBytes = (100 * one) + (one / 2);

        var handles = await _publisher.PublishAsync(deployments, CancellationToken.None);

        Assert.Equal([100, 100, 50], _sender.SentBatches.Select(b => b.Count));
        Assert.All(_sender.SentBatches, b => Assert.True(b.Sum(FakeServiceBusSender.ApproximateSize) <= _sender.MaxBatchBytes));
        Assert.Equal(deployments.Select(d => d.MessageId), _sender.SentBatches.SelectMany(b => b).Select(m => m.MessageId));
        Assert.Equal(250, handles.Count);
        Assert.All(handles, Assert.Null);
        Assert.Equal(0, _sender.ScheduleCalls);
    }

    [Fact]
    public async Task PublishAsync_ImmediateMessage_CarriesIdsPropertiesAndSnakeCaseBody()
    {
        // The body arrives as the queue publisher would fill it: the ids and due time must not reach Service Bus's body.
        var deployment = Deployment(7, scheduledFor: Now.AddMinutes(-5));

        await _publisher.PublishAsync([deployment], CancellationToken.None);

        var message = Assert.Single(Assert.Single(_sender.SentBatches));
        Assert.Equal("inst-0007:7", message.MessageId);
        Assert.Equal("dev-0007", message.SessionId);
        Assert.Equal("application/json", message.ContentType);
        Assert.Equal("deploy", message.Subject);
        Assert.Equal(
            new Dictionary<string, object> { ["customer_id"] = "cust-a", ["device_id"] = "dev-0007", ["node_service_id"] = "ns-0001", ["container_version"] = 7 },
            message.ApplicationProperties);
        Assert.IsType<int>(message.ApplicationProperties["container_version"]);

        using var json = JsonDocument.Parse(message.Body.ToMemory());
        var body = json.RootElement;
        Assert.Equal(
            ["arch", "container_version", "customer_id", "device_id", "node_service_id", "node_service_instance_id", "plan_url", "type"],
            body.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("deploy", body.GetProperty("type").GetString());
        Assert.Equal("cust-a", body.GetProperty("customer_id").GetString());
        Assert.Equal("dev-0007", body.GetProperty("device_id").GetString());
        Assert.Equal("inst-0007", body.GetProperty("node_service_instance_id").GetString());
        Assert.Equal("ns-0001", body.GetProperty("node_service_id").GetString());
        Assert.Equal(7, body.GetProperty("container_version").GetInt32());
        Assert.Equal("arm64", body.GetProperty("arch").GetString());
        Assert.Equal("https://pipeline.example/api/devices/dev-0007/instances/inst-0007/plan", body.GetProperty("plan_url").GetString());
    }

    [Fact]
    public async Task PublishAsync_MixedDueTimes_SchedulesFutureOnesPerTimeWithHandlesInInputOrder()
    {
        DateTimeOffset inOneHour = Now.AddHours(1), inTwoHours = Now.AddHours(2);
        OutgoingDeployment[] deployments =
        [
            Deployment(0),
            Deployment(1, inTwoHours),
            Deployment(2, inOneHour),
            Deployment(3, Now.AddMinutes(-1)),
            Deployment(4, inTwoHours.ToOffset(TimeSpan.FromHours(2))), // the same instant, written in another zone
            Deployment(5, Now),
            Deployment(6, inOneHour),
        ];

        var handles = await _publisher.PublishAsync(deployments, CancellationToken.None);

        Assert.Equal(["inst-0000:7", "inst-0003:7", "inst-0005:7"], Assert.Single(_sender.SentBatches).Select(m => m.MessageId));
        Assert.Equal(2, _sender.Scheduled.Count);
        Assert.Equal(inOneHour, _sender.Scheduled[0].At);
        Assert.Equal(["inst-0002:7", "inst-0006:7"], _sender.Scheduled[0].Messages.Select(m => m.MessageId));
        Assert.Equal(inTwoHours, _sender.Scheduled[1].At);
        Assert.Equal(["inst-0001:7", "inst-0004:7"], _sender.Scheduled[1].Messages.Select(m => m.MessageId));
        Assert.All(_sender.Scheduled.SelectMany(s => s.Messages), m => Assert.DoesNotContain("not_before", m.Body.ToString(), StringComparison.Ordinal));

        var sequenceOf = _sender.Scheduled
            .SelectMany(s => s.Messages.Zip(s.SequenceNumbers))
            .ToDictionary(p => p.First.MessageId, p => p.Second);
        Assert.Equal(7, handles.Count);
        foreach (int i in (int[])[0, 3, 5])
        {
            Assert.Null(handles[i]);
        }
        foreach (int i in (int[])[1, 2, 4, 6])
        {
            Assert.Equal(new ScheduledHandle(sequenceOf[deployments[i].MessageId], null, null), handles[i]);
        }
        Assert.Equal(4, handles.Where(h => h is not null).Select(h => h!.SequenceNumber).Distinct().Count());
    }

    [Fact]
    public async Task PublishAsync_ScheduledGroupOverBatchLimit_SchedulesChunksThatFit()
    {
        var deployments = Enumerable.Range(0, 10).Select(n => Deployment(n, Now.AddHours(1))).ToList();
        long one = ApproximateSize(deployments[0]);
        _sender.MaxBatchBytes = (4 * one) + 1;

        var handles = await _publisher.PublishAsync(deployments, CancellationToken.None);

        Assert.Equal([4, 4, 2], _sender.Scheduled.Select(s => s.Messages.Count));
        Assert.Equal(deployments.Select(d => d.MessageId), _sender.Scheduled.SelectMany(s => s.Messages).Select(m => m.MessageId));
        Assert.Equal(_sender.Scheduled.SelectMany(s => s.SequenceNumbers), handles.Select(h => h!.SequenceNumber!.Value));
        Assert.Empty(_sender.SentBatches);
    }

    [Fact]
    public async Task PublishAsync_ScheduleRequestRefusedAsTooLarge_HalvesUntilAccepted()
    {
        var deployments = Enumerable.Range(0, 10).Select(n => Deployment(n, Now.AddHours(1))).ToList();
        _sender.MaxScheduledPerRequest = 3;

        var handles = await _publisher.PublishAsync(deployments, CancellationToken.None);

        Assert.All(_sender.Scheduled, s => Assert.InRange(s.Messages.Count, 1, 3));
        Assert.Equal(deployments.Select(d => d.MessageId), _sender.Scheduled.SelectMany(s => s.Messages).Select(m => m.MessageId));
        Assert.Equal(_sender.Scheduled.SelectMany(s => s.SequenceNumbers), handles.Select(h => h!.SequenceNumber!.Value));
    }

    [Fact]
    public async Task PublishAsync_TransientFailuresAfterServiceTookBatch_ResendsSameIdsAndDeliversEachOnce()
    {
        var deployments = Enumerable.Range(0, 5).Select(n => Deployment(n)).ToList();
        _sender.TransientFailures = 2;
        _sender.FailAfterAccepting = true;

        await _publisher.PublishAsync(deployments, CancellationToken.None);

        Assert.Equal(3, _sender.SendCalls);
        Assert.Equal(15, _sender.Accepted.Count);
        Assert.All(_sender.Accepted.GroupBy(m => m.MessageId), g => Assert.Equal(3, g.Count()));
        Assert.Equal(deployments.Select(d => d.MessageId), _sender.Delivered.Select(m => m.MessageId));
        var delays = _clock.Delays.ToArray();
        Assert.Equal(2, delays.Length);
        Assert.InRange(delays[0], TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(1.2));
        Assert.InRange(delays[1], TimeSpan.FromSeconds(1.6), TimeSpan.FromSeconds(2.4));
    }

    [Fact]
    public async Task PublishAsync_TransientScheduleFailure_RetriedAndScheduledOnce()
    {
        _sender.TransientFailures = 1;

        var handles = await _publisher.PublishAsync([Deployment(1, Now.AddHours(1))], CancellationToken.None);

        Assert.Equal(2, _sender.ScheduleCalls);
        var scheduled = Assert.Single(_sender.Scheduled);
        Assert.Equal(scheduled.SequenceNumbers[0], Assert.Single(handles)!.SequenceNumber);
        Assert.Single(_clock.Delays);
    }

    [Fact]
    public async Task PublishAsync_TransientFailuresOutlastRetries_ThrowsAfterMaxAttempts()
    {
        _sender.TransientFailures = 100;

        var e = await Assert.ThrowsAsync<ServiceBusException>(() => _publisher.PublishAsync([Deployment(1)], CancellationToken.None));

        Assert.True(e.IsTransient);
        Assert.Equal(ServiceBusDeploymentPublisher.MaxAttempts, _sender.SendCalls);
        Assert.Equal(ServiceBusDeploymentPublisher.MaxAttempts - 1, _clock.Delays.Count);
        Assert.Empty(_sender.Accepted);
    }

    [Fact]
    public async Task PublishAsync_NonTransientFailure_PropagatesWithoutRetry()
    {
        _sender.PermanentFailure = ServiceBusFailureReason.MessagingEntityNotFound;

        var e = await Assert.ThrowsAsync<ServiceBusException>(() => _publisher.PublishAsync([Deployment(1)], CancellationToken.None));

        Assert.Equal(ServiceBusFailureReason.MessagingEntityNotFound, e.Reason);
        Assert.Equal(1, _sender.SendCalls);
        Assert.Empty(_clock.Delays);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PublishAsync_MessageLargerThanEmptyBatch_ThrowsTooLargeAndSendsNothing(bool scheduled)
    {
        var deployment = Deployment(1, scheduled ? Now.AddHours(1) : null);
        _sender.MaxBatchBytes = ApproximateSize(deployment) - 1;

        var e = await Assert.ThrowsAsync<PipelineException>(() => _publisher.PublishAsync([deployment], CancellationToken.None));

        Assert.Equal(ErrorCodes.TooLarge, e.Code);
        Assert.Contains("inst-0001:7", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, _sender.SendCalls);
        Assert.Equal(0, _sender.ScheduleCalls);
    }

    [Fact]
    public async Task CancelAsync_ScheduledMessage_TrueOnceThenFalse()
    {
        var handle = Assert.Single(await _publisher.PublishAsync([Deployment(1, Now.AddHours(1))], CancellationToken.None))!;

        Assert.True(await _publisher.CancelAsync(handle, CancellationToken.None));
        Assert.Equal([handle.SequenceNumber!.Value], _sender.Cancelled);
        Assert.False(await _publisher.CancelAsync(handle, CancellationToken.None));
    }

    [Fact]
    public async Task CancelAsync_UnknownSequenceNumber_ReturnsFalse()
    {
        Assert.False(await _publisher.CancelAsync(new ScheduledHandle(42, null, null), CancellationToken.None));
        Assert.Empty(_sender.Cancelled);
    }

    [Fact]
    public async Task CancelAsync_OtherNonTransientFailure_Propagates()
    {
        _sender.PermanentFailure = ServiceBusFailureReason.MessagingEntityNotFound;

        var e = await Assert.ThrowsAsync<ServiceBusException>(() => _publisher.CancelAsync(new ScheduledHandle(42, null, null), CancellationToken.None));

        Assert.Equal(ServiceBusFailureReason.MessagingEntityNotFound, e.Reason);
    }

    [Fact]
    public async Task CancelAsync_QueueHandle_ThrowsArgumentException()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _publisher.CancelAsync(new ScheduledHandle(null, "queue-id", "receipt"), CancellationToken.None));
    }

    [Fact]
    public void Validate_NamespaceAndConnectionString_Fails()
    {
        var result = Validate(new ServiceBusOptions { FullyQualifiedNamespace = "contoso.servicebus.windows.net", ConnectionString = ConnectionString() });

        Assert.True(result.Failed);
        Assert.Contains("not both", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sb://contoso.servicebus.windows.net")]
    [InlineData("contoso.servicebus.windows.net/")]
    [InlineData("contoso.servicebus.windows.net:5671")]
    [InlineData("10.0.0.4")]
    public void Validate_NamespaceNotHostName_Fails(string value)
    {
        var result = Validate(new ServiceBusOptions { FullyQualifiedNamespace = value });

        Assert.True(result.Failed);
        Assert.Contains("FullyQualifiedNamespace must be a host name", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NamespaceWithUserAssignedIdentity_Succeeds()
    {
        var options = new ServiceBusOptions { FullyQualifiedNamespace = "contoso.servicebus.windows.net", ClientId = "7d3c1a52-3f0e-4a8b-9d2a-5b8f1e6c4a10" };

        Assert.False(Validate(options).Failed);
        Assert.True(options.Configured);
        Assert.True(options.UsesIdentity);
        Assert.Equal("deployments", options.TopicName);
    }

    [Fact]
    public void Validate_NothingSet_SucceedsAndNotConfigured()
    {
        var options = new ServiceBusOptions();

        Assert.False(Validate(options).Failed);
        Assert.False(options.Configured);
    }

    [Fact]
    public void Validate_ConnectionStringScopedToOtherEntity_FailsWithoutRevealingKey()
    {
        var result = Validate(new ServiceBusOptions { ConnectionString = ConnectionString("EntityPath=other") });

        Assert.True(result.Failed);
        Assert.Contains("scoped to another entity", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a connection string")]
    [InlineData("SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0c2VjcmV0c2VjcmV0=")]
    public void Validate_MalformedConnectionString_FailsWithoutRevealingIt(string value)
    {
        var result = Validate(new ServiceBusOptions { ConnectionString = value });

        Assert.True(result.Failed);
        Assert.Contains("ConnectionString", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain(value, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ClientIdWithConnectionString_Fails()
    {
        // The connection string's key would be used and the identity silently ignored.
        var result = Validate(new ServiceBusOptions { ConnectionString = ConnectionString(), ClientId = "7d3c1a52-3f0e-4a8b-9d2a-5b8f1e6c4a10" });

        Assert.True(result.Failed);
        Assert.Contains("ClientId only applies", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ConnectionStringForTopic_Succeeds()
    {
        var options = new ServiceBusOptions { ConnectionString = ConnectionString("EntityPath=deployments") };

        Assert.False(Validate(options).Failed);
        Assert.True(options.Configured);
        Assert.False(options.UsesIdentity);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CreateClient_NamespaceOrConnectionString_ClientForThatNamespace(bool identity)
    {
        // Neither constructor connects, so this runs without a namespace.
        var options = identity
            ? new ServiceBusOptions { FullyQualifiedNamespace = "contoso.servicebus.windows.net", ClientId = "7d3c1a52-3f0e-4a8b-9d2a-5b8f1e6c4a10" }
            : new ServiceBusOptions { ConnectionString = ConnectionString() };

        await using var client = ServiceBusDeploymentPublisher.CreateClient(options);

        Assert.Equal("contoso.servicebus.windows.net", client.FullyQualifiedNamespace);
    }

    [Fact]
    public void CreateClient_NothingConfigured_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => ServiceBusDeploymentPublisher.CreateClient(new ServiceBusOptions()));
    }

    [Fact]
    public void MessageSize_DeploymentMessages_CoversAmqpEncodingWithinFifteenPercent()
    {
        foreach (var (instance, device, planUrlLength) in new[] { ("i", "d", 10), ("inst-0001", "dev-0001", 80), (new string('i', 120), new string('d', 128), 400) })
        {
            var deployment = new OutgoingDeployment(
                new DeploymentMessage(DeploymentMessage.DeployType, "cust-a", device, instance, "ns-0001", 12, "armhf", "https://" + new string('p', planUrlLength)),
                DeploymentMessage.IdFor(instance, 12, 2), device, null);
            var message = ServiceBusDeploymentPublisher.ToServiceBusMessage(deployment);

            long encoded = EncodedBatchEntrySize(message);
            long estimate = ServiceBusSizeEstimate.MessageSize(message);

            Assert.InRange(estimate, encoded, encoded * 115 / 100);
        }
    }

    [Fact]
    public void PlanBatches_250Messages_FullBatchesWithinLimitInOrder()
    {
        var messages = Enumerable.Range(1, 250).Select(n => ServiceBusDeploymentPublisher.ToServiceBusMessage(Deployment(n))).ToList();
        const long limit = 20_000;

        var batches = ServiceBusSizeEstimate.PlanBatches(messages, limit);

        Assert.True(batches.Count > 1);
        Assert.Equal(messages.Select(m => m.MessageId), batches.SelectMany(b => b).Select(m => m.MessageId));
        for (int i = 0; i < batches.Count; i++)
        {
            long size = ServiceBusSizeEstimate.BatchEnvelopeSize(batches[i][0]) + batches[i].Sum(ServiceBusSizeEstimate.MessageSize);
            Assert.True(size <= limit, $"batch {i} is estimated at {size} bytes");
            if (i < batches.Count - 1)
            {
                // Greedy: the next batch's first message would not have fitted.
                Assert.True(size + ServiceBusSizeEstimate.MessageSize(batches[i + 1][0]) > limit, $"batch {i} had room left");
            }
        }
    }

    [Fact]
    public void PlanBatches_MessageOverLimit_ThrowsTooLarge()
    {
        var message = ServiceBusDeploymentPublisher.ToServiceBusMessage(Deployment(1));

        var e = Assert.Throws<PipelineException>(() => ServiceBusSizeEstimate.PlanBatches([message], ServiceBusSizeEstimate.MessageSize(message)));

        Assert.Equal(ErrorCodes.TooLarge, e.Code);
    }

    private static OutgoingDeployment Deployment(int n, DateTimeOffset? scheduledFor = null)
    {
        string instance = $"inst-{n:D4}", device = $"dev-{n:D4}";
        string id = DeploymentMessage.IdFor(instance, 7, 1);
        var body = new DeploymentMessage(DeploymentMessage.DeployType, "cust-a", device, instance, "ns-0001", 7, "arm64",
            $"https://pipeline.example/api/devices/{device}/instances/{instance}/plan")
        {
            MessageId = id,
            SessionId = device,
            NotBefore = scheduledFor,
        };
        return new OutgoingDeployment(body, id, device, scheduledFor);
    }

    private static long ApproximateSize(OutgoingDeployment deployment) =>
        FakeServiceBusSender.ApproximateSize(ServiceBusDeploymentPublisher.ToServiceBusMessage(deployment));

    private static string ConnectionString(string extra = "") =>
        "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0c2VjcmV0c2VjcmV0=" + (extra.Length > 0 ? ";" + extra : "");

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(ServiceBusOptions options) =>
        new ServiceBusOptionsValidator().Validate(null, options);

    /// <summary>
    /// The bytes a message takes in a batch, encoded by the AMQP library the SDK uses with the same
    /// sections the SDK fills for these properties, plus the batch's framing of one entry.
    /// </summary>
    private static long EncodedBatchEntrySize(ServiceBusMessage message)
    {
        using var amqp = AmqpMessage.Create(new Data { Value = new ArraySegment<byte>(message.Body.ToArray()) });
        amqp.Properties.MessageId = message.MessageId;
        amqp.Properties.GroupId = message.SessionId;
        amqp.Properties.Subject = message.Subject;
        amqp.Properties.ContentType = message.ContentType;
        foreach (var (key, value) in message.ApplicationProperties)
        {
            amqp.ApplicationProperties.Map[key] = value;
        }
        long size = amqp.SerializedMessageSize;
        return size + (size <= 255 ? 5 : 8);
    }

    /// <summary>A clock stopped at <see cref="Now"/> whose timers fire at once, recording the waits asked for.</summary>
    private sealed class StoppedClock : TimeProvider
    {
        public ConcurrentQueue<TimeSpan> Delays { get; } = new();

        public override DateTimeOffset GetUtcNow() => Now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime > TimeSpan.Zero)
            {
                Delays.Enqueue(dueTime);
                dueTime = TimeSpan.FromMilliseconds(1);
            }
            return System.CreateTimer(callback, state, dueTime, period);
        }
    }
}
