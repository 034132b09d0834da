using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Imports;
using Pipeline.Storage;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Imports;

/// <summary>
/// The import lock against real Azurite, where two imports of one node service meet: the next
/// import asks for the lock while the previous one, already completed, releases it. (The import
/// API lets a client start the next import as soon as the previous one reads <c>completed</c>,
/// which is before its orchestration has released the lock.)
/// </summary>
public sealed class ImportLockStoreTests : IAsyncLifetime
{
    private ImportStore _imports = null!;
    private ImportLockStore _locks = null!;

    public async Task InitializeAsync()
    {
        var azurite = await AzuriteFixture.GetSharedAsync();
        var storage = new PipelineStorage(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));
        _imports = new ImportStore(storage);
        _locks = new ImportLockStore(storage, _imports, Options.Create(new ImportLimitOptions()));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<string> CompletedImportAsync(string customer, string nodeService)
    {
        string id = "imp_" + Guid.NewGuid().ToString("N");
        await _imports.CreateAsync(id, customer, nodeService, "demo", CancellationToken.None);
        await _imports.CompleteAsync(id, 1, [], 0, CancellationToken.None);
        return id;
    }

    [Fact]
    public async Task TryAcquireAsync_WhileTheCompletedHolderReleases_TakesTheLockWithoutFailing()
    {
        // The release deletes the row between the taker's read and its replace of the row (the
        // taker looks up the holder's status in between). Forty rounds: the two meet in that
        // window in some of them on any machine.
        string customer = "cust_" + Guid.NewGuid().ToString("N")[..8];
        for (int round = 0; round < 40; round++)
        {
            string nodeService = "ns_" + Guid.NewGuid().ToString("N")[..12];
            string previous = await CompletedImportAsync(customer, nodeService);
            Assert.True(await _locks.TryAcquireAsync(nodeService, customer, previous, CancellationToken.None));
            string next = "imp_" + Guid.NewGuid().ToString("N");
            await _imports.CreateAsync(next, customer, nodeService, "demo", CancellationToken.None);

            var release = _locks.ReleaseAsync(nodeService, customer, previous, CancellationToken.None);
            var take = _locks.TryAcquireAsync(nodeService, customer, next, CancellationToken.None);
            await release;
            Assert.True(await take, $"round {round}: the next import did not get the lock its completed predecessor released");

            await _locks.ReleaseAsync(nodeService, customer, next, CancellationToken.None);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("101")]
    public async Task HostStart_ImportsPerCustomerOutOfRange_RefusedNamingIt(string value)
    {
        // With 0 no import of the customer could ever take a slot: every one would wait, then fail.
        using var host = PipelineHost.Build(("Pipeline:Limits:ImportsPerCustomer", value));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal("Pipeline:Limits:ImportsPerCustomer must be 1-100.", Assert.Single(e.Failures));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("100")]
    public void ImportsPerCustomer_AtTheLimits_IsValid(string value)
    {
        using var host = PipelineHost.Build(("Pipeline:Limits:ImportsPerCustomer", value));

        Assert.Equal(int.Parse(value), host.Services.GetRequiredService<IOptions<ImportLimitOptions>>().Value.ImportsPerCustomer);
    }
}
