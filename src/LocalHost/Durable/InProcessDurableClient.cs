using DurableTask.AzureStorage;
using DurableTask.AzureStorage.Tracking;
using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using CoreFailureDetails = DurableTask.Core.FailureDetails;
using PurgeResult = Microsoft.DurableTask.Client.PurgeResult;

namespace Pipeline.LocalHost.Durable;

/// <summary>
/// The <see cref="DurableTaskClient"/> of LocalHost: starts, signals, reads and purges
/// orchestrations straight through the storage service of <see cref="LocalDurableBackend"/>.
/// Inputs, outputs and event payloads are (de)serialized with the client options' data converter,
/// the one the worker's shims use.
/// </summary>
public sealed class InProcessDurableClient : DurableTaskClient
{
    /// <summary>How often the waits look at an instance again.</summary>
    private static readonly TimeSpan WaitPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly AzureStorageOrchestrationService _service;
    private readonly DataConverter _converter;
    private readonly string _defaultVersion;

    /// <summary>Created by the client builder (<c>UseBuildTarget</c>) with its name.</summary>
    public InProcessDurableClient(string name, IOptionsMonitor<DurableTaskClientOptions> options, LocalDurableBackend backend)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(backend);
        _service = backend.Client;
        DurableTaskClientOptions clientOptions = options.Get(name);
        _converter = clientOptions.DataConverter;
        _defaultVersion = clientOptions.DefaultVersion;
    }

    /// <inheritdoc />
    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        var instance = new OrchestrationInstance
        {
            InstanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N"),
            ExecutionId = Guid.NewGuid().ToString("N"),
        };
        var started = new ExecutionStartedEvent(-1, _converter.Serialize(input))
        {
            Name = orchestratorName.Name,
            Version = options?.Version?.Version ?? _defaultVersion,
            OrchestrationInstance = instance,
            Tags = options?.Tags?.ToDictionary(tag => tag.Key, tag => tag.Value),
            ScheduledStartTime = options?.StartAt?.UtcDateTime,
        };
        OrchestrationStatus[]? dedupe = options?.DedupeStatuses?.Select(Enum.Parse<OrchestrationStatus>).ToArray();
        await _service.CreateTaskOrchestrationAsync(new TaskMessage { OrchestrationInstance = instance, Event = started }, dedupe)
            .WaitAsync(cancellation).ConfigureAwait(false);
        return instance.InstanceId;
    }

    /// <inheritdoc />
    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new EventRaisedEvent(-1, _converter.Serialize(eventPayload)) { Name = eventName }, cancellation);

    /// <inheritdoc />
    public override Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default) =>
        _service.ForceTerminateTaskOrchestrationAsync(instanceId, _converter.Serialize(options?.Output)).WaitAsync(cancellation);

    /// <inheritdoc />
    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionSuspendedEvent(-1, reason), cancellation);

    /// <inheritdoc />
    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionResumedEvent(-1, reason), cancellation);

    /// <inheritdoc />
    public override async Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        var states = await _service.GetOrchestrationStateAsync(instanceId, allExecutions: false, fetchInput: getInputsAndOutputs)
            .WaitAsync(cancellation).ConfigureAwait(false);
        return states.FirstOrDefault() is { } state ? ToMetadata(state, getInputsAndOutputs) : null;
    }

    /// <inheritdoc />
    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null) =>
        Pageable.Create(async (string? continuation, int? pageSize, CancellationToken cancellation) =>
        {
            var condition = new OrchestrationInstanceStatusQueryCondition
            {
                RuntimeStatus = filter?.Statuses?.Select(status => (OrchestrationStatus)status).ToList(),
                CreatedTimeFrom = filter?.CreatedFrom?.UtcDateTime ?? default,
                CreatedTimeTo = filter?.CreatedTo?.UtcDateTime ?? default,
                TaskHubNames = filter?.TaskHubNames,
                InstanceIdPrefix = filter?.InstanceIdPrefix,
                FetchInput = filter?.FetchInputsAndOutputs ?? false,
                FetchOutput = filter?.FetchInputsAndOutputs ?? false,
            };
            var result = await _service.GetOrchestrationStateAsync(
                condition, pageSize ?? filter?.PageSize ?? OrchestrationQuery.DefaultPageSize, continuation ?? filter?.ContinuationToken, cancellation).ConfigureAwait(false);
            var page = result.OrchestrationState.Select(state => ToMetadata(state, condition.FetchInput)).ToList();
            return new Page<OrchestrationMetadata>(page, string.IsNullOrEmpty(result.ContinuationToken) ? null : result.ContinuationToken);
        });

    /// <inheritdoc />
    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        WaitAsync(instanceId, getInputsAndOutputs, status => status != OrchestrationRuntimeStatus.Pending, cancellation);

    /// <inheritdoc />
    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        WaitAsync(instanceId, getInputsAndOutputs, status => status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated, cancellation);

    /// <inheritdoc />
    public override async Task<PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        var result = await _service.PurgeInstanceHistoryAsync(instanceId).WaitAsync(cancellation).ConfigureAwait(false);
        return new PurgeResult(result.InstancesDeleted, result.IsComplete);
    }

    /// <inheritdoc />
    public override async Task<PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var result = await _service.PurgeInstanceHistoryAsync(
                filter.CreatedFrom?.UtcDateTime ?? DateTime.MinValue,
                filter.CreatedTo?.UtcDateTime,
                filter.Statuses?.Select(status => (OrchestrationStatus)status))
            .WaitAsync(cancellation).ConfigureAwait(false);
        return new PurgeResult(result.InstancesDeleted, result.IsComplete);
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private Task SendAsync(string instanceId, HistoryEvent message, CancellationToken cancellation) =>
        _service.SendTaskOrchestrationMessageAsync(new TaskMessage { OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId }, Event = message })
            .WaitAsync(cancellation);

    private async Task<OrchestrationMetadata> WaitAsync(string instanceId, bool getInputsAndOutputs, Func<OrchestrationRuntimeStatus, bool> reached, CancellationToken cancellation)
    {
        while (true)
        {
            if (await GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation).ConfigureAwait(false) is { } instance && reached(instance.RuntimeStatus))
            {
                return instance;
            }
            await Task.Delay(WaitPollInterval, cancellation).ConfigureAwait(false);
        }
    }

    private OrchestrationMetadata ToMetadata(OrchestrationState state, bool withInputsAndOutputs) =>
        new(state.Name, state.OrchestrationInstance.InstanceId)
        {
            DataConverter = _converter,
            RuntimeStatus = (OrchestrationRuntimeStatus)state.OrchestrationStatus,
            CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc)),
            LastUpdatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc)),
            SerializedInput = withInputsAndOutputs ? state.Input : null,
            SerializedOutput = withInputsAndOutputs ? state.Output : null,
            SerializedCustomStatus = state.Status,
            FailureDetails = ToFailureDetails(state.FailureDetails),
        };

    private static TaskFailureDetails? ToFailureDetails(CoreFailureDetails? details) =>
        details is null
            ? null
            : new TaskFailureDetails(details.ErrorType, details.ErrorMessage, details.StackTrace, ToFailureDetails(details.InnerFailure), null);
}
