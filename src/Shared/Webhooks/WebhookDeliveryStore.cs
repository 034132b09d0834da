using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Pipeline.Storage;

namespace Pipeline.Webhooks;

/// <summary>One delivery as the customer sees it afterwards: when, what came of it, which imports it started.</summary>
public sealed record WebhookDelivery(
    DateTimeOffset ReceivedAt,
    string? DeliveryId,
    string Outcome,
    string Message,
    IReadOnlyList<StartedImport> Imports);

/// <summary>An import a delivery started (or found already running) for a node service.</summary>
public sealed record StartedImport(string NodeServiceId, string ImportId);

/// <summary>
/// Deliveries of a customer's webhook (table <c>webhookdeliveries</c>: partition =
/// <c>{customer}|{provider}</c>): a row per delivery id seen, so a delivery sent again within a day
/// is recognised, and a log row per delivery, newest first, so a customer can see why a push did
/// or did not import.
/// </summary>
public sealed class WebhookDeliveryStore(PipelineStorage storage, TimeProvider time)
{
    public const string Table = "webhookdeliveries";

    /// <summary>How long a delivery id is remembered.</summary>
    public static readonly TimeSpan ReplayWindow = TimeSpan.FromDays(1);

    public const string Started = "imports_started";
    public const string NoMatch = "no_match";
    public const string NotAPush = "not_a_push";
    public const string Replayed = "replay_ignored";

    private const string SeenPrefix = "seen:";
    private const string LogPrefix = "log:";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// Notes that <paramref name="deliveryId"/> arrived; false when it had already arrived within
    /// <see cref="ReplayWindow"/> (then the delivery is a replay, and is ignored).
    /// </summary>
    public async Task<bool> TryMarkSeenAsync(string customerId, string provider, string deliveryId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        // Ids are the sender's text: as a row key, only their hash.
        var row = new TableEntity(Partition(customerId, provider), SeenPrefix + Hash(deliveryId)) { ["seen"] = now };
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                await table.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                var existing = await table.GetEntityIfExistsAsync<TableEntity>(row.PartitionKey, row.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (existing.HasValue && existing.Value?.GetDateTimeOffset("seen") is { } seen && now - seen < ReplayWindow)
                {
                    return false;
                }
                try
                {
                    // Seen long ago: a new delivery that happens to reuse the id.
                    await table.UpdateEntityAsync(row, existing.HasValue ? existing.Value!.ETag : ETag.All, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                    return true;
                }
                catch (RequestFailedException again) when (again.Status is 404 or 412)
                {
                }
            }
        }
        return false;
    }

    /// <summary>Adds a delivery to the webhook's log.</summary>
    public async Task LogAsync(string customerId, string provider, WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        // Inverted ticks: a partition query returns the newest first.
        string key = LogPrefix + (DateTimeOffset.MaxValue.UtcTicks - delivery.ReceivedAt.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + ":" + Guid.NewGuid().ToString("N")[..8];
        await table.AddEntityAsync(new TableEntity(Partition(customerId, provider), key)
        {
            ["received_at"] = delivery.ReceivedAt,
            ["delivery_id"] = delivery.DeliveryId is { Length: > 200 } id ? id[..200] : delivery.DeliveryId,
            ["outcome"] = delivery.Outcome,
            ["message"] = delivery.Message.Length > 2000 ? delivery.Message[..2000] : delivery.Message,
            ["imports"] = JsonSerializer.Serialize(delivery.Imports, Json),
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The newest <paramref name="take"/> deliveries of a webhook.</summary>
    public async Task<IReadOnlyList<WebhookDelivery>> LatestAsync(string customerId, string provider, int take, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        string partition = Partition(customerId, provider);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {LogPrefix} and RowKey lt {"log;"}");
        var result = new List<WebhookDelivery>();
        await foreach (var e in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Max(1, take), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (result.Count == take)
            {
                break;
            }
            result.Add(new WebhookDelivery(
                e.GetDateTimeOffset("received_at") ?? DateTimeOffset.MinValue,
                e.GetString("delivery_id"),
                e.GetString("outcome") ?? "",
                e.GetString("message") ?? "",
                JsonSerializer.Deserialize<List<StartedImport>>(e.GetString("imports") ?? "[]", Json) ?? []));
        }
        return result;
    }

    private static string Partition(string customerId, string provider) => customerId + "|" + provider;

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..40];
}
