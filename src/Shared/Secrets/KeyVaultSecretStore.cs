using Azure;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Options;
using Pipeline.Storage;

namespace Pipeline.Secrets;

/// <summary>Secrets in Azure Key Vault, reached with the app's managed identity.</summary>
public sealed class KeyVaultSecretStore(IOptions<SecretOptions> options, IOptions<StorageOptions> storage) : ISecretStore
{
    private readonly SecretClient _client = new(
        options.Value.KeyVaultUri ?? throw new InvalidOperationException("Pipeline:Secrets:KeyVaultUri is not set."),
        string.IsNullOrEmpty(storage.Value.ClientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(storage.Value.ClientId)));

    public Task PutAsync(string name, string value, CancellationToken cancellationToken) =>
        _client.SetSecretAsync(name, value, cancellationToken);

    public async Task<string?> GetAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var secret = await _client.GetSecretAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return secret.Value.Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }
}
