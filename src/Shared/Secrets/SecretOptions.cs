namespace Pipeline.Secrets;

/// <summary>Configuration section <c>Pipeline:Secrets</c>.</summary>
public sealed class SecretOptions
{
    public const string Section = "Pipeline:Secrets";

    /// <summary>Key Vault holding the secrets (Azure). Unset: the local encrypted store.</summary>
    public Uri? KeyVaultUri { get; set; }

    /// <summary>
    /// Local store only: a base64 256-bit key. Unset: a random key is created once and kept in the
    /// blob container <c>secret-keys</c>, apart from the table of encrypted secrets.
    /// </summary>
    public string? LocalKey { get; set; }
}
