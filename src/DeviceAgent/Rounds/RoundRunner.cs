using DeviceAgent.Api;
using DeviceAgent.Progress;
using DeviceAgent.Store;

namespace DeviceAgent.Rounds;

/// <summary>
/// One round: the target (the source of truth), each instance brought to its target version in
/// turn, instances the target no longer lists removed, then every blob and partial that no kept
/// version and no version of this round needs deleted.
/// </summary>
internal sealed class RoundRunner(DeviceApiClient api, ContentStore store, InstanceStore instances, InstanceUpdater updater, AgentLog log)
{
    /// <param name="target">A target just read (the run loop's poll), or null to read it now.</param>
    /// <param name="damagedBlobsRemoved">What the start-up check removed, for the round's report.</param>
    public async Task<RoundResult> RunAsync(TargetResponse? target, IReadOnlyList<string> damagedBlobsRemoved, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var ledger = new RoundLedger();
        RoundResult Result(bool ok, string? reason, IReadOnlyList<InstanceOutcome> outcomes) =>
            new(ok, reason, started, DateTimeOffset.UtcNow, damagedBlobsRemoved, outcomes, ledger.Downloads, ledger.Downloads.Sum(d => d.BytesDownloaded));

        if (target is null)
        {
            try
            {
                target = (await api.GetTargetAsync(null, cancellationToken).ConfigureAwait(false)).Target!;
            }
            catch (Exception e) when (e is DeviceApiException or HttpRequestException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                return Result(false, $"could not read the target: {e.Message}", []);
            }
        }

        var reporter = new StatusReporter(api, log);
        var outcomes = new List<InstanceOutcome>();
        foreach (var instance in target.Instances)
        {
            outcomes.Add(await updater.UpdateAsync(instance, reporter, ledger, cancellationToken).ConfigureAwait(false));
        }

        var listed = target.Instances.Select(i => i.NodeServiceInstanceId).ToHashSet(StringComparer.Ordinal);
        foreach (string gone in instances.InstanceIds().Where(id => !listed.Contains(id)))
        {
            log.Info($"{gone}: no longer on this device; removing its versions");
            instances.Remove(gone);
        }
        if (!ledger.NeedsUnknown)
        {
            var keep = instances.KeptDigests().Concat(ledger.Needed).ToHashSet();
            long freed = store.CollectGarbage(keep, ledger.Needed);
            if (freed > 0)
            {
                log.Info($"removed {DiskSpace.Format(freed)} of blobs no kept version needs");
            }
        }

        var unsatisfied = outcomes.Where(o => !o.Satisfied).ToList();
        string? reason = unsatisfied.Count == 0 ? null : string.Join("; ", unsatisfied.Select(o => $"instance {o.NodeServiceInstanceId} (version {o.TargetVersion}): {o.Message}"));
        return Result(unsatisfied.Count == 0, reason, outcomes);
    }
}
