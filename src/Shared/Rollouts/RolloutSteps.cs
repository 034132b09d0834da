using Microsoft.Extensions.Logging;
using Pipeline.Fleet;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;

namespace Pipeline.Rollouts;

/// <summary>
/// The work behind a rollout's activities. Each step is safe to repeat: the node service row
/// (under its ETag) says which version rolls and which wave it reached; the rollout record says
/// how it stands and only running records change; wave membership is on the instance rows.
/// </summary>
public sealed partial class RolloutSteps(
    NodeServiceStore services,
    NodeServiceInstanceStore instances,
    RolloutStore rollouts,
    TimeProvider time,
    ILogger<RolloutSteps> logger)
{
    /// <summary>
    /// Begins the rollout of <c>input.Version</c>: supersedes older running rollouts, splits the
    /// latest-followers into waves, records the rollout, and starts wave 0 (a version nobody
    /// follows completes at once).
    /// </summary>
    public async Task<RolloutStep> BeginAsync(RolloutInput input, CancellationToken ct)
    {
        var (service, _) = await services.GetAsync(input.CustomerId, input.NodeServiceId, ct).ConfigureAwait(false);
        if (service is null)
        {
            return new RolloutStep(false, RolloutRecord.Superseded, 0, null);
        }
        var existing = await rollouts.GetAsync(input.NodeServiceId, input.Version, ct).ConfigureAwait(false);
        if (existing is { IsRunning: false })
        {
            return new RolloutStep(false, existing.State, existing.Waves.Count, null);
        }
        var now = time.GetUtcNow();
        var policy = existing?.Policy ?? service.Policy;
        if (service.RolloutOrSettled.RollingVersion != input.Version)
        {
            // A newer version was committed before this one's rollout began.
            var late = existing ?? new RolloutRecord(input.NodeServiceId, input.Version, RolloutRecord.RollingOut, null, [], null, policy, now, null, now);
            await rollouts.AddOrGetAsync(late, ct).ConfigureAwait(false);
            await EndRecordAsync(input, RolloutRecord.Superseded, $"superseded by version {service.ContainerVersion} before it started", ct).ConfigureAwait(false);
            return new RolloutStep(false, RolloutRecord.Superseded, 0, null);
        }

        foreach (var older in await rollouts.ListRunningAsync(input.NodeServiceId, ct).ConfigureAwait(false))
        {
            if (older.Version < input.Version)
            {
                await EndRecordAsync(input with { Version = older.Version }, RolloutRecord.Superseded, $"superseded by version {input.Version}", ct).ConfigureAwait(false);
            }
        }

        var followers = (await instances.ListAsync(input.NodeServiceId, ct).ConfigureAwait(false))
            .Where(i => i.Selector.Kind == VersionTargetKind.Latest)
            .Select(i => (i.InstanceId, i.Arch))
            .ToList();
        var (assignments, sizes) = RolloutWavePlan.Plan(followers, policy);
        await instances.SetRolloutWavesAsync(input.NodeServiceId, input.Version, assignments, ct).ConfigureAwait(false);
        var record = await rollouts.AddOrGetAsync(new RolloutRecord(input.NodeServiceId, input.Version, RolloutRecord.RollingOut, 0,
            sizes.Select((n, k) => new RolloutWaveCounts(policy.Waves[k], n, 0, 0, n)).ToList(), null, policy, now, now, now), ct).ConfigureAwait(false);
        LogBegun(logger, input.NodeServiceId, input.Version, followers.Count, sizes.Count);

        if (followers.Count == 0)
        {
            await EndAsync(new EndRolloutInput(input.NodeServiceId, input.CustomerId, input.Version, RolloutRecord.Completed, null), ct).ConfigureAwait(false);
            return new RolloutStep(false, RolloutRecord.Completed, sizes.Count, null);
        }
        bool rolling = await services.UpdateAsync(input.CustomerId, input.NodeServiceId, s => s.Rollout is { } p && p.RollingVersion == input.Version
            ? s with { Rollout = p with { RollingWave = Math.Max(0, p.RollingWave), RollingWaves = sizes.Count } }
            : null, ct).ConfigureAwait(false) is { Rollout.RollingVersion: var v } && v == input.Version;
        if (!rolling)
        {
            await EndRecordAsync(input, RolloutRecord.Superseded, "superseded by a newer version before its first wave", ct).ConfigureAwait(false);
            return new RolloutStep(false, RolloutRecord.Superseded, sizes.Count, null);
        }
        return new RolloutStep(true, RolloutRecord.RollingOut, sizes.Count, record.WaveStartedAt ?? now);
    }

    /// <summary>Starts wave <c>input.Wave</c>: its instances resolve "latest" to the rolling version from now on.</summary>
    public async Task<RolloutStep> StartWaveAsync(RolloutInput input, CancellationToken ct)
    {
        var service = await services.UpdateAsync(input.CustomerId, input.NodeServiceId, s => s.Rollout is { } p && p.RollingVersion == input.Version && p.RollingWave < input.Wave
            ? s with { Rollout = p with { RollingWave = input.Wave } }
            : null, ct).ConfigureAwait(false);
        if (service?.Rollout?.RollingVersion != input.Version)
        {
            await EndRecordAsync(input, RolloutRecord.Superseded, $"superseded by version {service?.ContainerVersion}", ct).ConfigureAwait(false);
            return new RolloutStep(false, RolloutRecord.Superseded, input.Waves, null);
        }
        var now = time.GetUtcNow();
        var record = await rollouts.UpdateRunningAsync(input.NodeServiceId, input.Version, r => r.CurrentWave >= input.Wave
            ? r
            : r with { CurrentWave = input.Wave, WaveStartedAt = now, UpdatedAt = now }, ct).ConfigureAwait(false);
        LogWave(logger, input.NodeServiceId, input.Version, input.Wave);
        return new RolloutStep(true, RolloutRecord.RollingOut, input.Waves, record?.WaveStartedAt ?? now);
    }

    /// <summary>Looks at wave <c>input.Wave</c>, records its counts, and says what comes next.</summary>
    public async Task<WaveVerdict> EvaluateAsync(RolloutInput input, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var (service, _) = await services.GetAsync(input.CustomerId, input.NodeServiceId, ct).ConfigureAwait(false);
        var record = await rollouts.GetAsync(input.NodeServiceId, input.Version, ct).ConfigureAwait(false);
        if (record is not { IsRunning: true } || service?.Rollout?.RollingVersion != input.Version)
        {
            if (record is { IsRunning: true })
            {
                await EndRecordAsync(input, RolloutRecord.Superseded, $"superseded by version {service?.ContainerVersion}", ct).ConfigureAwait(false);
            }
            return new WaveVerdict(WaveVerdict.Stop, null, now, record?.Reason);
        }
        // Members: latest-followers of this version's wave; a pin or a disable took an instance out.
        var members = (await instances.ListAsync(input.NodeServiceId, ct).ConfigureAwait(false))
            .Where(i => i.Selector.Kind == VersionTargetKind.Latest && i.RolloutVersion == input.Version && i.RolloutWave == input.Wave)
            .ToList();
        var (verdict, counts) = WaveHealth.Evaluate(members, input.Version, input.Wave, record.Policy,
            input.WaveStartedAt ?? record.WaveStartedAt ?? now, input.HealthySince, now);
        await rollouts.UpdateRunningAsync(input.NodeServiceId, input.Version, r => r with
        {
            CurrentWave = input.Wave,
            Waves = r.Waves.Select((w, k) => k == input.Wave ? counts : w).ToList(),
            UpdatedAt = now,
        }, ct).ConfigureAwait(false);
        return verdict;
    }

    /// <summary>
    /// Ends the rollout: completed (the version becomes the base) or rolled back (it joins the
    /// rolled-back versions, and the base becomes the newest version that was not). The node
    /// service first, then the record: a repeat finds the service done and finishes the record.
    /// </summary>
    public async Task<bool> EndAsync(EndRolloutInput input, CancellationToken ct)
    {
        await services.UpdateAsync(input.CustomerId, input.NodeServiceId, s =>
        {
            if (s.Rollout is not { } p || p.RollingVersion != input.Version)
            {
                return null;
            }
            if (input.State == RolloutRecord.Completed)
            {
                return s with { Rollout = p with { BaseVersion = input.Version, RollingVersion = null, RollingWave = -1, RollingWaves = 0 } };
            }
            var rolledBack = p.RolledBack.Append(input.Version).Distinct().Order().ToList();
            var back = p with { RollingVersion = null, RollingWave = -1, RollingWaves = 0, RolledBack = rolledBack };
            return s with { Rollout = back with { BaseVersion = back.NewestGood(input.Version) } };
        }, ct).ConfigureAwait(false);
        await EndRecordAsync(new RolloutInput(input.NodeServiceId, input.CustomerId, input.Version), input.State, input.Reason, ct).ConfigureAwait(false);
        LogEnded(logger, input.NodeServiceId, input.Version, input.State, input.Reason ?? "");
        return true;
    }

    private Task EndRecordAsync(RolloutInput input, string state, string? reason, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        return rollouts.UpdateRunningAsync(input.NodeServiceId, input.Version, r => r with { State = state, Reason = reason, UpdatedAt = now }, ct);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout of {NodeServiceId} version {Version}: {Instances} latest-followers in {Waves} waves")]
    private static partial void LogBegun(ILogger logger, string nodeServiceId, int version, int instances, int waves);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout of {NodeServiceId} version {Version}: wave {Wave} started")]
    private static partial void LogWave(ILogger logger, string nodeServiceId, int version, int wave);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout of {NodeServiceId} version {Version}: {State} {Reason}")]
    private static partial void LogEnded(ILogger logger, string nodeServiceId, int version, string state, string reason);
}
