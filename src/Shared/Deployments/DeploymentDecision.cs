using Pipeline.Fleet;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;

namespace Pipeline.Deployments;

/// <summary>What a fan-out does for one instance.</summary>
public enum DeploymentAction
{
    /// <summary>Nothing: disabled, or the target was already sent and is due when it should be.</summary>
    Skip,

    /// <summary>Send the target version (first time, or back to it).</summary>
    Send,

    /// <summary>Withdraw the waiting message and send it again for the new due time (the device's window moved).</summary>
    Move,

    /// <summary>Withdraw a waiting message whose version is no longer the target (disabled meanwhile).</summary>
    Withdraw,
}

/// <summary>
/// The fan-out's rule for one instance, as a pure function of its target, its record, its
/// device's update window and the time: send each move once; time a message for the window's
/// next start; move a waiting message when the window changes; withdraw one that lost its point.
/// </summary>
public sealed record DeploymentDecision(DeploymentAction Action, int? Version, int SendNumber, DateTimeOffset? DueAt)
{
    public static DeploymentDecision For(NodeServiceInstance instance, DeploymentRecord? record, NodeService service, DateTimeOffset now) =>
        For(instance.TargetVersion(service), record, instance.DeviceWindow, now);

    /// <summary>The rule itself, for an instance whose target is <paramref name="target"/> (null: none).</summary>
    public static DeploymentDecision For(int? target, DeploymentRecord? record, UpdateWindow? window, DateTimeOffset now)
    {
        bool waiting = record?.ScheduledFor > now;
        if (target is not int version)
        {
            return waiting ? new(DeploymentAction.Withdraw, null, 0, null) : new(DeploymentAction.Skip, null, 0, null);
        }
        DateTimeOffset? due = window?.EarliestUpdate(now) is { } at && at > now ? at : null;
        if (record?.Version == version)
        {
            // Already sent: only a waiting message whose window moved is sent again.
            return waiting && record!.ScheduledFor != due
                ? new(DeploymentAction.Move, version, record.SendsOf(version) + 1, due)
                : new(DeploymentAction.Skip, version, 0, null);
        }
        // A message still waiting for an older target is withdrawn first (Send does that when a handle exists).
        return new(DeploymentAction.Send, version, (record?.SendsOf(version) ?? 0) + 1, due);
    }
}
