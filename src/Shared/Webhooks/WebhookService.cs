using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Pipeline.Fleet;
using Pipeline.Imports;
using Pipeline.Snapshots;

namespace Pipeline.Webhooks;

/// <summary>What a delivery came to: the imports it started or joined, and how the log reads it.</summary>
public sealed record WebhookOutcome(IReadOnlyList<StartedImport> Imports, bool Replay);

/// <summary>
/// Turns an authentic delivery into imports (API.md "Registry webhooks"): ignores a delivery id
/// seen within a day; finds every node service of the customer whose latest version imports from
/// a pushed tag; re-imports each once however many deliveries report the push; logs the delivery
/// for the customer. A webhook is only a hint: the import resolves the tag in the registry again,
/// with the node service's stored credentials.
/// </summary>
public sealed partial class WebhookService(
    NodeServiceStore services,
    SnapshotRecordStore versions,
    ImportService importer,
    WebhookImportClaims claims,
    WebhookDeliveryStore deliveries,
    TimeProvider time,
    ILogger<WebhookService> logger)
{
    /// <summary>Node services of one customer looked at for a delivery; beyond this a customer needs more than webhooks can give.</summary>
    private const int MaxServices = 5000;

    public async Task<WebhookOutcome> HandleAsync(Webhook webhook, WebhookPayload payload, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var received = time.GetUtcNow();
        if (payload.Pushes.Count == 0)
        {
            await LogAsync(webhook, new WebhookDelivery(received, payload.DeliveryId, WebhookDeliveryStore.NotAPush, "The event is not an image push.", []), cancellationToken).ConfigureAwait(false);
            return new WebhookOutcome([], false);
        }
        if (payload.DeliveryId is { } id && !await deliveries.TryMarkSeenAsync(webhook.CustomerId, webhook.Provider, id, cancellationToken).ConfigureAwait(false))
        {
            await LogAsync(webhook, new WebhookDelivery(received, id, WebhookDeliveryStore.Replayed, "This delivery arrived before; it was accepted and ignored.", []), cancellationToken).ConfigureAwait(false);
            return new WebhookOutcome([], true);
        }

        var pushed = payload.Pushes.Select(p => PushMatcher.Normalise(p, webhook.Registry)).OfType<Oci.ImageReference>().Distinct().ToList();
        var started = new List<StartedImport>();
        var (all, _) = await services.ListAsync(webhook.CustomerId, 0, MaxServices, cancellationToken).ConfigureAwait(false);
        foreach (var service in all.Where(s => s.ContainerVersion is not null))
        {
            var latest = await versions.GetAsync(service.NodeServiceId, service.ContainerVersion!.Value, cancellationToken).ConfigureAwait(false);
            if (latest is null || PushMatcher.Matching(latest, pushed) is not { Count: > 0 } matched)
            {
                continue;
            }
            // One import per node service and tag: the deliveries of one push (one per architecture, or repeated) share it.
            string pushKey = string.Join('\n', matched.Select(m => m.ToString()).Order(StringComparer.Ordinal));
            var (importId, start) = await claims.ClaimAsync(service.NodeServiceId, pushKey, Ids.NewImportId(), cancellationToken).ConfigureAwait(false);
            if (start)
            {
                try
                {
                    await importer.ReimportAsync(importId, service, latest, durable, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    await claims.ReleaseAsync(service.NodeServiceId, pushKey, CancellationToken.None).ConfigureAwait(false);
                    throw;
                }
                LogReimport(logger, webhook.CustomerId, webhook.Provider, service.NodeServiceId, importId);
            }
            started.Add(new StartedImport(service.NodeServiceId, importId));
        }

        string message = started.Count == 0
            ? $"No node service imports {string.Join(", ", pushed.Select(p => p.ToString()).DefaultIfEmpty("a tag of this push"))}."
            : $"Pushed {string.Join(", ", pushed.Select(p => p.ToString()))}.";
        await LogAsync(webhook, new WebhookDelivery(received, payload.DeliveryId, started.Count == 0 ? WebhookDeliveryStore.NoMatch : WebhookDeliveryStore.Started, message, started), cancellationToken).ConfigureAwait(false);
        return new WebhookOutcome(started, false);
    }

    /// <summary>Logs a delivery refused after its proof was checked (stale).</summary>
    public Task LogRefusedAsync(Webhook webhook, WebhookPayload payload, string outcome, string message, CancellationToken cancellationToken) =>
        LogAsync(webhook, new WebhookDelivery(time.GetUtcNow(), payload.DeliveryId, outcome, message, []), cancellationToken);

    private Task LogAsync(Webhook webhook, WebhookDelivery delivery, CancellationToken cancellationToken) =>
        deliveries.LogAsync(webhook.CustomerId, webhook.Provider, delivery, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {Provider} of {CustomerId}: re-import of {NodeServiceId} started as {ImportId}")]
    private static partial void LogReimport(ILogger logger, string customerId, string provider, string nodeServiceId, string importId);
}
