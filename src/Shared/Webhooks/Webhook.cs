using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Webhooks;

/// <summary>
/// A customer's webhook for one provider (API.md <c>Webhook</c>): the registry host its pushes
/// refer to, and where its secret is kept. The secret itself lives only in the secret store;
/// <see cref="SecretVersion"/> changes with every rotation, so a cached secret is never stale.
/// </summary>
public sealed record Webhook(string CustomerId, string Provider, string Registry, string SecretVersion, DateTimeOffset Created)
{
    /// <summary>The route a registry calls: <c>/api/webhooks/{provider}/{customer_id}</c>.</summary>
    public string Path => $"/api/webhooks/{Provider}/{Uri.EscapeDataString(CustomerId)}";

    /// <summary>
    /// The secret's name in the secret store. Key Vault names allow letters, digits and '-' only,
    /// so the customer id (which may hold '.' and '_') enters as a hash.
    /// </summary>
    public static string SecretName(string customerId, string provider) =>
        $"webhook-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(customerId)))[..32]}-{provider}";
}
