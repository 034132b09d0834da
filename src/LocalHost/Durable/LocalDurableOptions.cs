namespace Pipeline.LocalHost.Durable;

/// <summary>
/// Settings of the persistent local durable backend: the Azure Storage orchestration service
/// (Azurite locally) and the worker that dispatches from it in this process.
/// </summary>
/// <remarks>
/// Bound from the configuration section <see cref="SectionName"/>; the storage connection string
/// comes from <see cref="ConnectionStringKey"/> so the durable backend and the blob/table code of
/// the pipeline share one setting.
/// </remarks>
public sealed class LocalDurableOptions
{
    /// <summary>Configuration section that holds these options.</summary>
    public const string SectionName = "Pipeline:Durable";

    /// <summary>Configuration key of the storage connection string shared with the rest of the pipeline.</summary>
    public const string ConnectionStringKey = "Pipeline:Storage:ConnectionString";

    /// <summary>Connection string used when none is configured: the local storage emulator.</summary>
    public const string DevelopmentConnectionString = "UseDevelopmentStorage=true";

    /// <summary>
    /// Task hub name; prefixes the queues, tables and blob containers of the backend, so two hubs
    /// can share one storage account without seeing each other's orchestrations.
    /// </summary>
    public string TaskHubName { get; set; } = "pipeline";

    /// <summary>Storage account connection string (Azurite locally).</summary>
    public string StorageConnectionString { get; set; } = DevelopmentConnectionString;

    /// <summary>
    /// Identity that owns the task hub's partition lease. It must stay the same across restarts:
    /// with the default (the machine name, which changes between containers) a restarted process
    /// waits for the previous owner's lease to expire before it can run anything.
    /// </summary>
    public string WorkerId { get; set; } = "localhost";

    /// <summary>
    /// How long a dequeued activity message stays invisible. Locks of running activities are
    /// renewed every third of this, so it bounds how long a crashed activity waits to be retried,
    /// not how long an activity may run.
    /// </summary>
    public TimeSpan WorkItemVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a dequeued orchestration (control-queue) message stays invisible; renewed like
    /// <see cref="WorkItemVisibilityTimeout"/>. Bounds how long an orchestrator step interrupted by
    /// a crash waits to be replayed.
    /// </summary>
    public TimeSpan ControlQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest pause between polls of an empty queue. It does not delay an orchestration step:
    /// the backend wakes a queue's poller as soon as this process adds a message to it (measured
    /// with 2 s: 20-70 ms from an activity's end to the orchestrator's next step, as with 100 ms).
    /// It bounds how late a durable timer fires and how soon work left by another process is seen.
    /// At 100 ms the two idle queues were polled 20 times a second, which cost the storage emulator
    /// 7 % of a core and this host 3 % while nothing ran, and more while an import shared the cores.
    /// </summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws when a value would make the backend unsafe or unusable.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(TaskHubName))
        {
            throw new InvalidOperationException($"{SectionName}:{nameof(TaskHubName)} must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(StorageConnectionString))
        {
            throw new InvalidOperationException($"{ConnectionStringKey} must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(WorkerId))
        {
            throw new InvalidOperationException($"{SectionName}:{nameof(WorkerId)} must not be empty.");
        }

        // Renewal runs every third of a timeout; below a few seconds a slow storage call would
        // let the lock lapse between renewals.
        TimeSpan minimum = TimeSpan.FromSeconds(6);
        if (WorkItemVisibilityTimeout < minimum || ControlQueueVisibilityTimeout < minimum)
        {
            throw new InvalidOperationException($"Visibility timeouts must be at least {minimum.TotalSeconds} s.");
        }
    }
}
