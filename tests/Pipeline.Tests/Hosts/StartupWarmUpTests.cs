using System.Collections.Concurrent;
using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Pipeline.Imports;
using Pipeline.LocalHost.WarmUp;
using Pipeline.Storage;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Hosts;

/// <summary>
/// LocalHost's start-up warm-up: health answers <c>503 warming_up</c> until it has run, and it
/// leaves nothing behind in storage (no import row, no orchestration, no blob), whether it ran
/// or was switched off.
/// </summary>
public sealed class StartupWarmUpTests : IAsyncLifetime
{
    private AzuriteFixture _azurite = null!;

    public async Task InitializeAsync() => _azurite = await AzuriteFixture.StartAsync();

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

    [Fact]
    public async Task Health_WarmingUpUntilTheWarmUpRan_ThenOk_AndNothingLeftBehind()
    {
        var answers = new ConcurrentQueue<HttpStatusCode>();
        using var stop = new CancellationTokenSource();
        Task? polling = null;
        await using (var host = await LocalHostProcess.StartAsync(_azurite.ConnectionString, "", starting: uri => polling = PollHealthAsync(uri, answers, stop.Token)))
        {
            // The host is ready: the poller's next answer is its 200.
            await polling!.WaitAsync(TimeSpan.FromSeconds(30));
            string log = host.ReadLog();
            Assert.Contains("Warmed up in", log);
            // The admin key is set: its own DM_get_import (twice) and refused import reached the API.
            Assert.Contains("own GraphQL requests answered 200, 200, 200", log);
            // Seen answering while warming up, and ready only after.
            var seen = answers.Distinct().ToList();
            Assert.Contains(HttpStatusCode.ServiceUnavailable, seen);
            Assert.Equal(HttpStatusCode.OK, answers.Last());
            Assert.DoesNotContain(HttpStatusCode.ServiceUnavailable, answers.SkipWhile(a => a != HttpStatusCode.OK));

            // Ready: a real request works at once.
            using var http = new HttpClient { BaseAddress = host.BaseUri };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/health")).StatusCode);
            await AssertNothingLeftAsync(host.TaskHub);

            // The import it sends itself is refused by the input check (so its input was parsed),
            // with nothing written: not at the customer id, not for the key.
            using var api = new Api.ApiClient(host.BaseUri);
            var refused = await api.QueryAsync(LocalHostProcess.AdminKey, StartupWarmUp.RefusedImport, StartupWarmUp.RefusedImportVariables);
            Assert.Equal([Pipeline.ErrorCodes.BadInput], refused.ErrorCodes);
            Assert.Contains("given twice", refused.ErrorMessages, StringComparison.Ordinal);
            await AssertNothingLeftAsync(host.TaskHub);
        }
    }

    [Fact]
    public async Task WarmUpOff_ReadyAtOnce_NothingWritten()
    {
        await using var host = await LocalHostProcess.StartAsync(_azurite.ConnectionString, "", extraEnvironment: new Dictionary<string, string?> { ["Pipeline__WarmUp"] = "false" });
        Assert.DoesNotContain("Warmed up in", host.ReadLog());
        await AssertNothingLeftAsync(host.TaskHub);
    }

    private static async Task PollHealthAsync(Uri baseUri, ConcurrentQueue<HttpStatusCode> answers, CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(2) };
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var response = await http.GetAsync("/api/health", stop);
                answers.Enqueue(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    Assert.Contains("warming_up", await response.Content.ReadAsStringAsync(stop));
                }
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            await Task.Delay(20, CancellationToken.None);
        }
    }

    private async Task AssertNothingLeftAsync(string taskHub)
    {
        var tables = new TableServiceClient(_azurite.ConnectionString);
        await foreach (var table in tables.QueryAsync())
        {
            if (table.Name == ImportStore.Table)
            {
                Assert.Empty(await KeysAsync(tables.GetTableClient(ImportStore.Table).QueryAsync<TableEntity>(), e => e.PartitionKey + "/" + e.RowKey));
            }
        }
        foreach (string name in new[] { taskHub + "Instances", taskHub + "History" })
        {
            Assert.Empty(await KeysAsync(tables.GetTableClient(name).QueryAsync<TableEntity>(), e => e.PartitionKey + "/" + e.RowKey));
        }
        var container = new BlobServiceClient(_azurite.ConnectionString).GetBlobContainerClient(PipelineStorage.SnapshotsContainer);
        if (await container.ExistsAsync())
        {
            Assert.Empty(await KeysAsync(container.GetBlobsAsync(), b => b.Name));
        }
    }

    private static async Task<List<string>> KeysAsync<T>(IAsyncEnumerable<T> items, Func<T, string> key)
    {
        var keys = new List<string>();
        await foreach (var item in items)
        {
            keys.Add(key(item));
        }
        return keys;
    }
}
