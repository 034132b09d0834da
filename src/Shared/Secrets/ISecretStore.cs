namespace Pipeline.Secrets;

/// <summary>
/// Where registry passwords live, and nowhere else: Key Vault in Azure, an encrypted table entry
/// locally. Orchestrations and records carry only a secret's name.
/// </summary>
public interface ISecretStore
{
    /// <summary>Creates or replaces the secret <paramref name="name"/> (letters, digits and '-').</summary>
    Task PutAsync(string name, string value, CancellationToken cancellationToken);

    /// <summary>The secret's value, or null when there is none of that name.</summary>
    Task<string?> GetAsync(string name, CancellationToken cancellationToken);
}
