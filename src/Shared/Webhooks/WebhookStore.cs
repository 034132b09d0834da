using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Pipeline.Secrets;
using Pipeline.Storage;

namespace Pipeline.Webhooks;

/// <summary>
/// Webhooks (table <c>webhooks</c>: partition = customer id, row = provider) and their secrets
/// (in the secret store only, never in a table). Creating a webhook again rotates its secret: the
/// new secret is stored first, then the row names its new version, so a delivery checks either the
/// old secret or the new one, never a missing one. Secrets read from the store are cached in
/// process by version.
/// </summary>
public sealed class WebhookStore(PipelineStorage storage, ISecretStore secrets, TimeProvider time) : IDisposable
{
    public const string Table = "webhooks";
    private const string SecretPrefix = "whsec_";

    private readonly MemoryCache _secrets = new(new MemoryCacheOptions { SizeLimit = 10_000 });

    /// <summary>Creates or re-creates the webhook; returns it and its new secret (shown once).</summary>
    public async Task<(Webhook Webhook, string Secret)> CreateAsync(string customerId, string provider, string registry, CancellationToken cancellationToken)
    {
        string secret = BearerKeys.New(SecretPrefix);
        await secrets.PutAsync(Webhook.SecretName(customerId, provider), secret, cancellationToken).ConfigureAwait(false);
        var webhook = new Webhook(customerId, provider, registry, BearerKeys.Hash(secret)[..16], time.GetUtcNow());
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        await table.UpsertEntityAsync(new TableEntity(customerId, provider)
        {
            ["registry"] = webhook.Registry,
            ["secret_version"] = webhook.SecretVersion,
            ["created"] = webhook.Created,
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        return (webhook, secret);
    }

    /// <summary>The customer's webhook for <paramref name="provider"/>, or null.</summary>
    public async Task<Webhook?> GetAsync(string customerId, string provider, CancellationToken cancellationToken)
    {
        if (!Ids.IsSafeKey(customerId) || !WebhookProviders.IsKnown(provider))
        {
            return null;
        }
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(customerId, provider, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value is { } e ? FromEntity(e) : null;
    }

    /// <summary>Every webhook of a customer, by provider.</summary>
    public async Task<IReadOnlyList<Webhook>> ListAsync(string customerId, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var all = new List<Webhook>();
        await foreach (var e in table.QueryPartitionAsync(customerId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            all.Add(FromEntity(e));
        }
        return all;
    }

    /// <summary>The webhook's current secret, or null when the store has none.</summary>
    public async Task<string?> SecretAsync(Webhook webhook, CancellationToken cancellationToken)
    {
        var key = (webhook.CustomerId, webhook.Provider, webhook.SecretVersion);
        if (_secrets.TryGetValue(key, out string? cached))
        {
            return cached;
        }
        string? secret = await secrets.GetAsync(Webhook.SecretName(webhook.CustomerId, webhook.Provider), cancellationToken).ConfigureAwait(false);
        // Only the secret of this version is kept: a read racing a rotation must not cache the new one under the old version.
        if (secret is not null && BearerKeys.Hash(secret)[..16] == webhook.SecretVersion)
        {
            _secrets.Set(key, secret, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromHours(1) });
        }
        return secret;
    }

    public void Dispose() => _secrets.Dispose();

    private static Webhook FromEntity(TableEntity e) =>
        new(e.PartitionKey, e.RowKey, e.GetString("registry") ?? "", e.GetString("secret_version") ?? "", e.GetDateTimeOffset("created") ?? DateTimeOffset.MinValue);
}
