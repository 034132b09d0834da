using System.Collections.Concurrent;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Pipeline.Api.Devices;
using Pipeline.Fleet;
using Pipeline.Fleet.Instances;

namespace Pipeline.Deployments;

/// <summary>
/// One page of a fan-out: reads the instances (with their devices' windows) and their records, decides
/// per instance (<see cref="DeploymentDecision"/>), withdraws waiting messages that lost their
/// point, publishes the page's messages in as few requests as the transport allows, and only then
/// writes the records. A crash before the records are written makes the retry send the same
/// messages with the same ids (duplicate detection drops them on Service Bus; queue consumers drop
/// a <c>message_id</c> they have seen); nothing recorded is sent again.
/// </summary>
public sealed partial class FanOutPageActivity(
    NodeServiceStore services,
    NodeServiceInstanceStore instances,
    DeploymentRecordStore records,
    IDeploymentPublisher publisher,
    TimeProvider time,
    ILogger<FanOutPageActivity> logger) : TaskActivity<FanOutPageInput, FanOutPageResult>
{
    /// <summary>Instances per page: one table page, and the bound on what one generation of the fan-out touches.</summary>
    public const int PageSize = 1000;

    private const int Parallelism = 32;

    /// <summary>Messages published before their records are written; what a crash can make the retry send again.</summary>
    public const int ChunkSize = 100;

    public override async Task<FanOutPageResult> RunAsync(TaskActivityContext context, FanOutPageInput input)
    {
        var ct = CancellationToken.None;
        var (service, _) = await services.GetAsync(input.CustomerId, input.NodeServiceId, ct).ConfigureAwait(false);
        if (service is null)
        {
            return new FanOutPageResult(null, 0, 0, 0, 0);
        }
        var (page, next) = await ReadPageAsync(input, ct).ConfigureAwait(false);
        if (page.Count == 0)
        {
            return new FanOutPageResult(next, 0, 0, 0, 0);
        }
        var known = await ReadRecordsAsync(input, page, ct).ConfigureAwait(false);

        var now = time.GetUtcNow();
        var outgoing = new List<(NodeServiceInstance Instance, DeploymentDecision Decision, OutgoingDeployment Message)>();
        var withdrawals = new List<(string, DeploymentRecord)>();
        int skipped = 0, withdrawn = 0, moved = 0;
        var decisions = page.Select(i => (Instance: i, Record: known.GetValueOrDefault(i.InstanceId), Decision: DeploymentDecision.For(i, known.GetValueOrDefault(i.InstanceId), service, now))).ToList();

        // A message still waiting for its window is withdrawn before anything replaces it. A
        // waiting message that cannot be withdrawn any more was withdrawn by an earlier attempt
        // of this page (it was not due yet, so no device can have taken it).
        await Parallel.ForEachAsync(decisions.Where(d => d.Record?.ScheduledFor > now && d.Record.Handle is not null && d.Decision.Action != DeploymentAction.Skip),
            Options(ct), async (d, token) => await publisher.CancelAsync(d.Record!.Handle!, token).ConfigureAwait(false)).ConfigureAwait(false);

        foreach (var (instance, record, decision) in decisions)
        {
            switch (decision.Action)
            {
                case DeploymentAction.Skip:
                    skipped++;
                    break;
                case DeploymentAction.Withdraw:
                    withdrawn++;
                    withdrawals.Add((instance.InstanceId, new DeploymentRecord(0, "", null, null, record!.Sends)));
                    break;
                default:
                    moved += decision.Action == DeploymentAction.Move ? 1 : 0;
                    outgoing.Add((instance, decision, Message(instance, decision)));
                    break;
            }
        }

        // Published and recorded a chunk at a time: a crash replays at most one chunk's messages
        // (with the same ids), not the whole page.
        await records.SaveAsync(input.NodeServiceId, withdrawals, ct).ConfigureAwait(false);
        foreach (var chunk in outgoing.Chunk(ChunkSize))
        {
            var handles = await publisher.PublishAsync(chunk.Select(o => o.Message).ToList(), ct).ConfigureAwait(false);
            var sent = chunk.Select((o, i) =>
            {
                var sends = new Dictionary<int, int>(known.GetValueOrDefault(o.Instance.InstanceId)?.Sends ?? new Dictionary<int, int>())
                {
                    [o.Decision.Version!.Value] = o.Decision.SendNumber,
                };
                return (o.Instance.InstanceId, new DeploymentRecord(o.Decision.Version.Value, o.Message.MessageId, o.Decision.DueAt, handles[i], sends));
            }).ToList();
            await records.SaveAsync(input.NodeServiceId, sent, ct).ConfigureAwait(false);
        }
        LogPage(logger, input.NodeServiceId, page.Count, outgoing.Count - moved, moved, withdrawn);
        return new FanOutPageResult(next, outgoing.Count - moved, moved, withdrawn, skipped);
    }

    private static OutgoingDeployment Message(NodeServiceInstance instance, DeploymentDecision decision)
    {
        int version = decision.Version!.Value;
        var body = new DeploymentMessage(DeploymentMessage.DeployType, instance.CustomerId, instance.DeviceId, instance.InstanceId,
            instance.NodeServiceId, version, instance.Arch, DeviceRoutes.PlanUrl(instance.DeviceId, instance.InstanceId));
        return new OutgoingDeployment(body, DeploymentMessage.IdFor(instance.InstanceId, version, decision.SendNumber), instance.DeviceId, decision.DueAt);
    }

    private async Task<(IReadOnlyList<NodeServiceInstance> Page, string? Next)> ReadPageAsync(FanOutPageInput input, CancellationToken ct)
    {
        if (input.InstanceIds is null)
        {
            return await instances.ListPageAsync(input.NodeServiceId, input.Cursor, PageSize, ct).ConfigureAwait(false);
        }
        var found = new ConcurrentBag<NodeServiceInstance>();
        await Parallel.ForEachAsync(input.InstanceIds.Distinct(StringComparer.Ordinal), Options(ct), async (id, token) =>
        {
            var (instance, _) = await instances.GetAsync(id, token).ConfigureAwait(false);
            if (instance?.NodeServiceId == input.NodeServiceId)
            {
                found.Add(instance);
            }
        }).ConfigureAwait(false);
        return (found.OrderBy(i => i.InstanceId, StringComparer.Ordinal).ToList(), null);
    }

    private async Task<Dictionary<string, DeploymentRecord>> ReadRecordsAsync(FanOutPageInput input, IReadOnlyList<NodeServiceInstance> page, CancellationToken ct)
    {
        if (input.InstanceIds is null)
        {
            var ids = page.Select(i => i.InstanceId).Order(StringComparer.Ordinal).ToList();
            return await records.GetRangeAsync(input.NodeServiceId, ids[0], ids[^1], ct).ConfigureAwait(false);
        }
        var found = new ConcurrentDictionary<string, DeploymentRecord>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(page, Options(ct), async (instance, token) =>
        {
            if (await records.GetAsync(input.NodeServiceId, instance.InstanceId, token).ConfigureAwait(false) is { } record)
            {
                found[instance.InstanceId] = record;
            }
        }).ConfigureAwait(false);
        return new Dictionary<string, DeploymentRecord>(found, StringComparer.Ordinal);
    }

    private static ParallelOptions Options(CancellationToken ct) => new() { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct };

    [LoggerMessage(Level = LogLevel.Information, Message = "Fan-out of {NodeServiceId}: {Instances} instances read, {Sent} sent, {Moved} moved, {Withdrawn} withdrawn")]
    private static partial void LogPage(ILogger logger, string nodeServiceId, int instances, int sent, int moved, int withdrawn);
}
