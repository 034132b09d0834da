using System.Text.Json;
using Pipeline.Registry;

namespace Pipeline.Secrets;

/// <summary>
/// Registry credentials of a node service's image source, kept in the secret store under a name
/// derived from the service and arch. Re-imports (a webhook, say) find them again by that name;
/// a later import with new credentials replaces them.
/// </summary>
public sealed class RegistryCredentialStore(ISecretStore secrets)
{
    public static string SecretName(string nodeServiceId, string arch) => $"regcred-{nodeServiceId.Replace('_', '-')}-{arch}";

    /// <summary>Stores the credentials and returns the reference to pass instead of them.</summary>
    public async Task<string> PutAsync(string nodeServiceId, string arch, string user, string password, CancellationToken cancellationToken)
    {
        string name = SecretName(nodeServiceId, arch);
        await secrets.PutAsync(name, JsonSerializer.Serialize(new Dictionary<string, string> { ["u"] = user, ["p"] = password }), cancellationToken).ConfigureAwait(false);
        return name;
    }

    /// <summary>The reference of the stored credentials of a node service's arch, or null when it has none (anonymous).</summary>
    public async Task<string?> FindAsync(string nodeServiceId, string arch, CancellationToken cancellationToken)
    {
        string name = SecretName(nodeServiceId, arch);
        return await secrets.GetAsync(name, cancellationToken).ConfigureAwait(false) is null ? null : name;
    }

    /// <summary>The credentials a reference stands for; null for anonymous (no reference).</summary>
    public async Task<RegistryCredentials?> GetAsync(string? reference, CancellationToken cancellationToken)
    {
        if (reference is null)
        {
            return null;
        }
        string? json = await secrets.GetAsync(reference, cancellationToken).ConfigureAwait(false)
            ?? throw new PipelineException(ErrorCodes.RegistryAuthFailed, "The registry credentials of this import are no longer stored; import again with authn.");
        var values = JsonSerializer.Deserialize<Dictionary<string, string>>(json)!;
        return new RegistryCredentials(values["u"], values["p"]);
    }
}
