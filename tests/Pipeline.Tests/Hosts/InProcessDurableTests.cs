using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pipeline.LocalHost.Durable;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Hosts;

/// <summary>
/// LocalHost's durable backend as the pipeline and its operators use it: a host with
/// <see cref="LocalDurableServiceCollectionExtensions.AddLocalDurableTask"/> on Azurite, small
/// orchestrations of this class, and the registered <see cref="DurableTaskClient"/>. Everything
/// the client offers is checked here, including what the pipeline itself does not call yet.
/// </summary>
public sealed class InProcessDurableTests : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private readonly AzuriteFixture _azurite;
    private readonly DisposalLog _disposals = new();
    private IHost _host = null!;
    private DurableTaskClient _client = null!;

    public InProcessDurableTests(AzuriteFixture azurite) => _azurite = azurite;

    public async Task InitializeAsync()
    {
        _host = BuildHost();
        await _host.StartAsync();
        _client = _host.Services.GetRequiredService<DurableTaskClient>();
    }

    private IHost BuildHost(Dictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Development });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [LocalDurableOptions.ConnectionStringKey] = _azurite.ConnectionString,
            ["Pipeline:Durable:TaskHubName"] = "hub" + Guid.NewGuid().ToString("N")[..12],
            ["Pipeline:Durable:WorkItemVisibilityTimeout"] = "00:00:10",
            ["Pipeline:Durable:ControlQueueVisibilityTimeout"] = "00:00:10",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Services.AddSingleton(_disposals);
        builder.Services.AddScoped<ScopedThing>();
        builder.Services.AddLocalDurableTask(builder.Configuration, tasks => tasks
            .AddOrchestrator<EchoOrchestrator>()
            .AddActivity<EchoActivity>()
            .AddOrchestrator<FailingOrchestrator>()
            .AddActivity<FailingActivity>()
            .AddOrchestrator<WaitingOrchestrator>()
            .AddOrchestrator<NapThenEchoOrchestrator>()
            .AddActivity<NapActivity>());
        return builder.Build();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task Orchestration_RunsItsActivityInAScopeOfItsOwn_AndReturnsItsOutput()
    {
        string id = await _client.ScheduleNewOrchestrationInstanceAsync(nameof(EchoOrchestrator), "hello", new StartOrchestrationOptions($"echo-{Guid.NewGuid():N}"));

        var done = await WaitForCompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(nameof(EchoOrchestrator), done.Name);
        Assert.Equal("hello", done.ReadInputAs<string>());
        Assert.Equal("echo: hello", done.ReadOutputAs<string>());
        Assert.Null(done.FailureDetails);
        // The activity's scoped service was disposed once the activity had run.
        Assert.Contains(id, _disposals.Items);
    }

    [Fact]
    public async Task GetInstance_OfAnUnknownId_IsNull() =>
        Assert.Null(await _client.GetInstanceAsync($"nobody-{Guid.NewGuid():N}"));

    [Fact]
    public async Task ActivityFailure_ReachesTheOrchestratorWithItsTypeAndMessage()
    {
        string id = await _client.ScheduleNewOrchestrationInstanceAsync(nameof(FailingOrchestrator));

        var done = await WaitForCompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("System.InvalidOperationException: BAD_INPUT: the activity refused", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task RaisedEvent_ReachesTheWaitingOrchestration()
    {
        string id = await _client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitingOrchestrator));
        var started = await _client.WaitForInstanceStartAsync(id, getInputsAndOutputs: false, Timeout());
        Assert.Equal(OrchestrationRuntimeStatus.Running, started.RuntimeStatus);
        Assert.Equal("waiting", started.ReadCustomStatusAs<string>());

        await _client.RaiseEventAsync(id, WaitingOrchestrator.EventName, "go on");

        var done = await WaitForCompletionAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("got go on", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task SuspendResumeAndTerminate_ChangeTheStatusAsAsked()
    {
        string id = await _client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitingOrchestrator));
        await _client.WaitForInstanceStartAsync(id, getInputsAndOutputs: false, Timeout());

        await _client.SuspendInstanceAsync(id, "for a test");
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Suspended);
        await _client.ResumeInstanceAsync(id, "test over");
        await WaitForStatusAsync(id, OrchestrationRuntimeStatus.Running);
        await _client.TerminateInstanceAsync(id, new TerminateInstanceOptions("stopped"));

        var done = await WaitForCompletionAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, done.RuntimeStatus);
        Assert.Equal("stopped", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task SecondStartOfARunningId_WithDedupeStatuses_LeavesTheRunningOneAlone()
    {
        string id = await _client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitingOrchestrator), new StartOrchestrationOptions($"dedupe-{Guid.NewGuid():N}"));
        var first = await _client.WaitForInstanceStartAsync(id, getInputsAndOutputs: false, Timeout());

        // As the storage backend does for every client: the start is dropped, not an error.
        await _client.ScheduleNewOrchestrationInstanceAsync(
            nameof(EchoOrchestrator), "replaced?", new StartOrchestrationOptions(id) { DedupeStatuses = ["Running", "Pending"] });
        await _client.RaiseEventAsync(id, WaitingOrchestrator.EventName, "still me");

        var done = await WaitForCompletionAsync(id);
        Assert.Equal(nameof(WaitingOrchestrator), done.Name);
        Assert.Equal(first.CreatedAt, done.CreatedAt);
        Assert.Equal("got still me", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Query_FindsInstancesByPrefix_AndPurgeRemovesThem()
    {
        string prefix = $"query-{Guid.NewGuid():N}-";
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            ids.Add(await _client.ScheduleNewOrchestrationInstanceAsync(nameof(EchoOrchestrator), $"n{i}", new StartOrchestrationOptions(prefix + i)));
        }
        foreach (string id in ids)
        {
            await WaitForCompletionAsync(id);
        }

        var found = new List<OrchestrationMetadata>();
        await foreach (var instance in _client.GetAllInstancesAsync(new OrchestrationQuery(InstanceIdPrefix: prefix, PageSize: 2, FetchInputsAndOutputs: true)))
        {
            found.Add(instance);
        }
        Assert.Equal(ids, found.Select(f => f.InstanceId).Order(StringComparer.Ordinal));
        Assert.All(found, f => Assert.Equal($"echo: {f.ReadInputAs<string>()}", f.ReadOutputAs<string>()));

        var purged = await _client.PurgeInstanceAsync(ids[0]);
        Assert.Equal(1, purged.PurgedInstanceCount);
        Assert.Null(await _client.GetInstanceAsync(ids[0]));
        Assert.NotNull(await _client.GetInstanceAsync(ids[1]));
    }

    [Fact]
    public async Task StepsAfterALongActivity_DoNotWaitForThePollingInterval()
    {
        // Queues left idle by a long activity are polled ever more rarely, up to the longest
        // interval; the messages this process adds wake the pollers, so the next steps run at once.
        using var host = BuildHost(new() { ["Pipeline:Durable:MaxQueuePollingInterval"] = "00:01:00" });
        await host.StartAsync();
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        string id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(NapThenEchoOrchestrator), 8);

        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout());
        await host.StopAsync();

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var napEnded = done.ReadOutputAs<DateTimeOffset>();
        // Two activities and three orchestrator steps after the nap. Polled, with the pollers
        // backed off for 8 s idle (randomised doubling), each step would wait seconds.
        Assert.InRange(done.LastUpdatedAt - napEnded, TimeSpan.Zero, TimeSpan.FromSeconds(3));
    }

    private async Task<OrchestrationMetadata> WaitForCompletionAsync(string id) =>
        await _client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, Timeout());

    private async Task WaitForStatusAsync(string id, OrchestrationRuntimeStatus status)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await _client.GetInstanceAsync(id, timeout.Token))?.RuntimeStatus != status)
        {
            await Task.Delay(50, timeout.Token);
        }
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    /// <summary>Instance ids whose activity's scoped service was disposed.</summary>
    public sealed class DisposalLog
    {
        private readonly List<string> _items = [];

        public IReadOnlyList<string> Items
        {
            get
            {
                lock (_items)
                {
                    return [.. _items];
                }
            }
        }

        public void Add(string id)
        {
            lock (_items)
            {
                _items.Add(id);
            }
        }
    }

    /// <summary>A scoped service that logs its disposal under the instance id it was told.</summary>
    public sealed class ScopedThing(DisposalLog log) : IDisposable
    {
        public string? InstanceId { get; set; }

        public void Dispose()
        {
            if (InstanceId is not null)
            {
                log.Add(InstanceId);
            }
        }
    }

    public sealed class EchoOrchestrator : TaskOrchestrator<string, string>
    {
        public override Task<string> RunAsync(TaskOrchestrationContext context, string input) =>
            context.CallActivityAsync<string>(nameof(EchoActivity), input);
    }

    public sealed class EchoActivity(ScopedThing thing) : TaskActivity<string, string>
    {
        public override Task<string> RunAsync(TaskActivityContext context, string input)
        {
            thing.InstanceId = context.InstanceId;
            return Task.FromResult($"echo: {input}");
        }
    }

    public sealed class FailingOrchestrator : TaskOrchestrator<object?, string>
    {
        public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
        {
            try
            {
                await context.CallActivityAsync<string>(nameof(FailingActivity), "x");
                return "no failure";
            }
            catch (TaskFailedException e)
            {
                return $"{e.FailureDetails.ErrorType}: {e.FailureDetails.ErrorMessage}";
            }
        }
    }

    public sealed class FailingActivity : TaskActivity<string, string>
    {
        public override Task<string> RunAsync(TaskActivityContext context, string input) =>
            throw new InvalidOperationException("BAD_INPUT: the activity refused");
    }

    /// <summary>A nap of the given seconds, then two echoes; returns when the nap ended.</summary>
    public sealed class NapThenEchoOrchestrator : TaskOrchestrator<int, DateTimeOffset>
    {
        public override async Task<DateTimeOffset> RunAsync(TaskOrchestrationContext context, int input)
        {
            var napEnded = await context.CallActivityAsync<DateTimeOffset>(nameof(NapActivity), input);
            await context.CallActivityAsync<string>(nameof(EchoActivity), "one");
            await context.CallActivityAsync<string>(nameof(EchoActivity), "two");
            return napEnded;
        }
    }

    public sealed class NapActivity : TaskActivity<int, DateTimeOffset>
    {
        public override async Task<DateTimeOffset> RunAsync(TaskActivityContext context, int input)
        {
            await Task.Delay(TimeSpan.FromSeconds(input));
            return DateTimeOffset.UtcNow;
        }
    }

    public sealed class WaitingOrchestrator : TaskOrchestrator<object?, string>
    {
        public const string EventName = "go";

        public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
        {
            context.SetCustomStatus("waiting");
            return $"got {await context.WaitForExternalEvent<string>(EventName)}";
        }
    }
}
