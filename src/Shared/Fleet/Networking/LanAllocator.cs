using Microsoft.Extensions.Logging;

namespace Pipeline.Fleet.Networking;

/// <summary>
/// Gives an instance its LAN (<see cref="LanPlan"/>), claiming a per-instance range in
/// <see cref="LanLeaseStore"/> when the node service has a <c>dhcp_range_template</c>.
/// <para>
/// Why one row per claimed range rather than one ETag-guarded allocation map: under concurrency
/// a single row serialises every writer and turns each lost race into a full re-read and retry,
/// so 500 simultaneous additions would take hundreds of rounds. With a row per slot, writers only
/// meet when they pick the same slot; the insert's 409 settles it atomically in the storage
/// service (across processes, no leases or entities needed), and the loser tries another. Slots
/// are picked at random, so collisions are rare while the subnet has room; after a few misses
/// the writer reads the claims once and tries the free slots in random order, which also finds
/// the last free slot of a nearly full subnet, and proves exhaustion when there is none.
/// </para>
/// <para>
/// A process that dies between claiming a slot and recording its instance leaves a claim with no
/// instance; when a subnet looks full, claims older than <see cref="OrphanGrace"/> whose
/// instance does not exist are deleted (ETag-guarded) and the search runs again.
/// </para>
/// </summary>
public sealed partial class LanAllocator(LanLeaseStore leases, TimeProvider time, ILogger<LanAllocator> logger)
{
    /// <summary>Random picks before reading the claims.</summary>
    public const int RandomProbes = 4;

    /// <summary>Above this many slots the free ones are not listed; random probing goes on instead.</summary>
    public const long MaxListedSlots = 1 << 20;

    /// <summary>How old a claim without an instance must be before it counts as abandoned.</summary>
    public static readonly TimeSpan OrphanGrace = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The LAN of a new instance, claiming a range when the plan has per-instance ranges; null
    /// when the node service has no LAN. <paramref name="liveInstanceIdsAsync"/> lists the ids
    /// of the node service's existing instances (only read when the subnet looks full).
    /// </summary>
    public async Task<LanAllocation?> AllocateAsync(
        string nodeServiceId,
        LanPlan plan,
        string instanceId,
        Func<CancellationToken, Task<IReadOnlySet<string>>> liveInstanceIdsAsync,
        CancellationToken cancellationToken)
    {
        switch (plan.Mode)
        {
            case LanMode.None:
                return null;
            case LanMode.Fixed or LanMode.Shared:
                return plan.SharedAllocation();
        }

        long count = plan.SlotCount;
        for (int i = 0; i < RandomProbes; i++)
        {
            long slot = Random.Shared.NextInt64(count);
            if (await leases.TryClaimAsync(nodeServiceId, slot, instanceId, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
            {
                return plan.ForSlot(slot);
            }
        }
        if (await ClaimFreeSlotAsync(nodeServiceId, count, instanceId, cancellationToken).ConfigureAwait(false) is { } found)
        {
            return plan.ForSlot(found);
        }
        if (await ReclaimOrphansAsync(nodeServiceId, liveInstanceIdsAsync, cancellationToken).ConfigureAwait(false) > 0
            && await ClaimFreeSlotAsync(nodeServiceId, count, instanceId, cancellationToken).ConfigureAwait(false) is { } reclaimed)
        {
            return plan.ForSlot(reclaimed);
        }
        LogExhausted(logger, nodeServiceId, count);
        throw new PipelineException(ErrorCodes.SubnetExhausted,
            $"All {plan.DescribeSlots()} are in use by this node service's instances; remove an instance to free one.");
    }

    /// <summary>Frees an instance's range (idempotent); nothing to do for fixed and shared ranges.</summary>
    public Task ReleaseAsync(string nodeServiceId, LanAllocation? lan, string instanceId, CancellationToken cancellationToken) =>
        lan?.Slot is { } slot
            ? leases.ReleaseAsync(nodeServiceId, slot, instanceId, cancellationToken)
            : Task.CompletedTask;

    /// <summary>
    /// Reads the claims and tries the free slots in random order, reading again whenever every
    /// slot seen free was taken meanwhile. Null once a reading shows no free slot. Each lost
    /// race means another writer won a slot, so the rounds are bounded by the slots.
    /// </summary>
    private async Task<long?> ClaimFreeSlotAsync(string nodeServiceId, long count, string instanceId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var taken = (await leases.ListAsync(nodeServiceId, cancellationToken).ConfigureAwait(false)).Select(l => l.Slot).ToHashSet();
            if (taken.Count(s => s < count) >= count)
            {
                return null;
            }
            IEnumerable<long> candidates;
            if (count <= MaxListedSlots)
            {
                var free = new List<long>();
                for (long s = 0; s < count; s++)
                {
                    if (!taken.Contains(s))
                    {
                        free.Add(s);
                    }
                }
                var shuffled = free.ToArray();
                Random.Shared.Shuffle(shuffled);
                candidates = shuffled;
            }
            else
            {
                // Too many slots to list, and most of them free: random picks find one.
                candidates = Enumerable.Range(0, 64).Select(_ => Random.Shared.NextInt64(count)).Where(s => !taken.Contains(s));
            }
            foreach (long slot in candidates)
            {
                if (await leases.TryClaimAsync(nodeServiceId, slot, instanceId, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
                {
                    return slot;
                }
            }
        }
    }

    private async Task<int> ReclaimOrphansAsync(string nodeServiceId, Func<CancellationToken, Task<IReadOnlySet<string>>> liveInstanceIdsAsync, CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - OrphanGrace;
        var old = (await leases.ListAsync(nodeServiceId, cancellationToken).ConfigureAwait(false)).Where(l => l.Claimed < cutoff).ToList();
        if (old.Count == 0)
        {
            return 0;
        }
        var live = await liveInstanceIdsAsync(cancellationToken).ConfigureAwait(false);
        int freed = 0;
        foreach (var lease in old.Where(l => !live.Contains(l.InstanceId)))
        {
            if (await leases.TryDeleteAsync(nodeServiceId, lease.Slot, lease.ETag, cancellationToken).ConfigureAwait(false))
            {
                LogOrphanFreed(logger, nodeServiceId, lease.Slot, lease.InstanceId);
                freed++;
            }
        }
        return freed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Node service {NodeServiceId}: all {SlotCount} LAN ranges are in use")]
    private static partial void LogExhausted(ILogger logger, string nodeServiceId, long slotCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node service {NodeServiceId}: freed LAN range {Slot} claimed by {InstanceId}, which does not exist")]
    private static partial void LogOrphanFreed(ILogger logger, string nodeServiceId, long slot, string instanceId);
}
