namespace DeviceAgent.Cli;

/// <summary>Everything the command line said, checked.</summary>
internal sealed record AgentSettings(
    Uri Api,
    string DeviceId,
    string KeyFile,
    string StoreDirectory,
    string? HealthCommand,
    TimeSpan HealthTimeout,
    long MinFreeBytes,
    string? ReportJson,
    int DownloadAttempts,
    TimeSpan StallTimeout)
{
    /// <summary>Chunk deltas: accept <c>chunks</c> in plans and keep seeds (off with <c>--no-chunks</c>).</summary>
    public bool UseChunks { get; init; } = true;

    /// <summary><c>run</c> only: how often the target is polled.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>run</c> only: the local storage queue <c>deployments</c>.</summary>
    public string? QueueConnectionString { get; init; }

    /// <summary><c>run</c> only: Service Bus by namespace (Entra ID sign-in).</summary>
    public string? ServiceBusNamespace { get; init; }

    /// <summary><c>run</c> only: Service Bus by connection string.</summary>
    public string? ServiceBusConnectionString { get; init; }

    /// <summary><c>run</c> only: the subscription on topic <c>deployments</c>.</summary>
    public string? Subscription { get; init; }
}
