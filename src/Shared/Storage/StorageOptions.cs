namespace Pipeline.Storage;

/// <summary>
/// Where the catalog (tables), snapshots (blobs) and local deployment queue live.
/// Locally a connection string (Azurite); in Azure the service URIs and a managed identity,
/// never a key (configuration section <c>Pipeline:Storage</c>).
/// </summary>
public sealed class StorageOptions
{
    public const string Section = "Pipeline:Storage";

    public string? ConnectionString { get; set; }

    public Uri? BlobServiceUri { get; set; }

    public Uri? QueueServiceUri { get; set; }

    public Uri? TableServiceUri { get; set; }

    /// <summary>Client id of a user-assigned managed identity; empty for the default credential chain.</summary>
    public string? ClientId { get; set; }

    /// <summary>Whether identity-based endpoints are configured rather than a connection string.</summary>
    public bool UsesIdentity => BlobServiceUri is not null && TableServiceUri is not null && QueueServiceUri is not null;

    public const string LocalDefault = "UseDevelopmentStorage=true";
}
