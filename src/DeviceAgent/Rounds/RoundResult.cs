using DeviceAgent.Store;

namespace DeviceAgent.Rounds;

/// <summary>
/// The outcome of one round, also written as <c>--report-json</c>: whether every instance runs its
/// target version (verified, and healthy), why not, what was downloaded and what was repaired.
/// </summary>
internal sealed record RoundResult(
    bool Ok,
    string? Reason,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    IReadOnlyList<string> DamagedBlobsRemoved,
    IReadOnlyList<InstanceOutcome> Instances,
    IReadOnlyList<DownloadRecord> Downloads,
    long BytesDownloaded);

/// <summary>
/// Where one instance ended the round. <see cref="State"/>: <c>running</c>, <c>disabled</c>,
/// <c>failed</c> (reported: disk full, bad bytes, a refused plan), or <c>pending</c> (the link or
/// the API was away; retried next round, not reported as a failure).
/// </summary>
internal sealed record InstanceOutcome(
    string NodeServiceInstanceId,
    int? TargetVersion,
    int? CurrentVersion,
    string State,
    bool Healthy,
    string? Message,
    bool Satisfied)
{
    public const string Disabled = "disabled";
    public const string Pending = "pending";
}
