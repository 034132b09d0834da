using System.Globalization;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;

namespace Pipeline.Rollouts;

/// <summary>
/// The rule that judges a wave, as a pure function of its members, the policy and the time. A
/// member is healthy or failed by its <see cref="RolloutResult"/>; without one it is pending
/// until <c>report_timeout_seconds</c> after its update window first opened (or the wave
/// started, or it was added), and silent — counted as failed — after that. So a closed window
/// delays an instance but never fails it.
/// </summary>
public static class WaveHealth
{
    /// <summary>The longest a rollout sleeps between two looks without a report.</summary>
    public static readonly TimeSpan MaxSleep = TimeSpan.FromMinutes(5);

    /// <summary>The shortest: a look is never due sooner than this after the last.</summary>
    public static readonly TimeSpan MinSleep = TimeSpan.FromSeconds(1);

    public static (WaveVerdict Verdict, RolloutWaveCounts Counts) Evaluate(
        IReadOnlyList<NodeServiceInstance> members, int version, int wave, RolloutPolicy policy,
        DateTimeOffset waveStartedAt, DateTimeOffset? healthySince, DateTimeOffset now)
    {
        int healthy = 0, failed = 0, silent = 0, pending = 0;
        var wakeAt = now + MaxSleep;
        string? firstFailure = null;
        foreach (var member in members)
        {
            if (member.RolloutResult is { } result && result.Version == version)
            {
                if (result.Healthy)
                {
                    healthy++;
                }
                else
                {
                    failed++;
                    firstFailure ??= member.Status is { ContainerVersion: var v, Message: { Length: > 0 } m } && v == version
                        ? $"{member.InstanceId}: {m}"
                        : member.InstanceId;
                }
                continue;
            }
            var deadline = ReportDeadline(member, waveStartedAt, policy);
            if (now >= deadline)
            {
                silent++;
            }
            else
            {
                pending++;
                wakeAt = deadline < wakeAt ? deadline : wakeAt;
            }
        }

        int percent = wave < policy.Waves.Count ? policy.Waves[wave] : 100;
        var counts = new RolloutWaveCounts(percent, members.Count, healthy, failed + silent, pending);
        if (policy.RollsBack(failed + silent, members.Count))
        {
            string reason = string.Create(CultureInfo.InvariantCulture,
                $"wave {wave} ({percent} %): {failed + silent} of {members.Count} instances failed or stayed silent ({failed} failed, {silent} silent for {policy.ReportTimeoutSeconds} s), reaching max_failure_percent {policy.MaxFailurePercent}");
            if (firstFailure is not null)
            {
                reason += "; first failure: " + firstFailure;
            }
            return (new WaveVerdict(WaveVerdict.RollBack, null, now, reason), counts);
        }
        if (members.Count == 0)
        {
            return (new WaveVerdict(WaveVerdict.Advance, null, now, null), counts);
        }
        if (pending > 0)
        {
            return (new WaveVerdict(WaveVerdict.Wait, null, Later(wakeAt, now), null), counts);
        }
        var since = healthySince ?? now;
        var soaked = since + TimeSpan.FromSeconds(policy.SoakSeconds);
        return now >= soaked
            ? (new WaveVerdict(WaveVerdict.Advance, since, now, null), counts)
            : (new WaveVerdict(WaveVerdict.Wait, since, Later(soaked < wakeAt ? soaked : wakeAt, now), null), counts);
    }

    /// <summary>
    /// When a member that said nothing counts as silent: the timeout after its window first
    /// opened at or after the later of the wave's start and the member's creation.
    /// </summary>
    public static DateTimeOffset ReportDeadline(NodeServiceInstance member, DateTimeOffset waveStartedAt, RolloutPolicy policy)
    {
        var from = member.Created > waveStartedAt ? member.Created : waveStartedAt;
        var opens = member.DeviceWindow?.EarliestUpdate(from) ?? from;
        return opens + TimeSpan.FromSeconds(policy.ReportTimeoutSeconds);
    }

    private static DateTimeOffset Later(DateTimeOffset at, DateTimeOffset now) => at < now + MinSleep ? now + MinSleep : at;
}
