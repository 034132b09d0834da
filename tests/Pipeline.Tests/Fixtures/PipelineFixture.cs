using Azure.Storage.Blobs;
using Pipeline.Oci;
using Pipeline.Tests.Api;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// The whole slice for a test class: the run's Azurite, a CNCF registry of its own, and a
/// LocalHost process serving the API. Tests keep apart by customer id and repository.
/// </summary>
public sealed class PipelineFixture : IAsyncLifetime
{
    public AzuriteFixture Azurite { get; private set; } = null!;

    public RegistryFixture Registry { get; private set; } = null!;

    public LocalHostProcess Host { get; private set; } = null!;

    public ApiClient Api { get; private set; } = null!;

    public BlobContainerClient Snapshots => new(Azurite.ConnectionString, "snapshots");

    public static string NewCustomer() => "cust-" + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteFixture.GetSharedAsync();
        Registry = await RegistryFixture.StartAsync();
        Host = await LocalHostProcess.StartAsync(Azurite, Registry.Host);
        Api = new ApiClient(Host.BaseUri);
    }

    public async Task DisposeAsync()
    {
        Api?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
        if (Registry is not null)
        {
            await Registry.DisposeAsync();
        }
    }

    /// <summary>Downloads a stored snapshot blob and returns its size and the sha256 of its bytes.</summary>
    public Task<(long Size, Digest Hash)> ReadStoredBlobAsync(Digest digest) => StoredBlobs.ReadAsync(Azurite.ConnectionString, digest);
}
