using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Oci;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

/// <summary>TEST-MATRIX row 13: 429 with Retry-After in seconds, as an HTTP-date, and too long to wait.</summary>
public sealed class RegistryClientRetryAfterTests
{
    private static readonly PullScope Scope = RegistryTestClient.Anonymous();

    [Fact]
    public async Task ResolveAsync_429WithRetryAfterSeconds_WaitsThatLongThenSucceeds()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var image = TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        registry.TooManyRequests.Enqueue("7");
        var time = new RecordingTimeProvider();
        using var client = Client(registry, time);

        var resolved = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None);

        Assert.Equal(image.Manifest.Digest, resolved.Manifest.Digest);
        Assert.Equal([TimeSpan.FromSeconds(7)], time.Delays);
        Assert.Equal(2, registry.Requests.Count(r => r.Path.Contains("/manifests/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task OpenBlobAsync_429WithRetryAfterHttpDate_WaitsUntilThatDate()
    {
        await using var registry = await FakeRegistry.StartAsync();
        byte[] content = RandomNumberGenerator.GetBytes(10_000);
        var blob = registry.PutBlob("demo/app", content);
        var time = new RecordingTimeProvider();
        registry.TooManyRequests.Enqueue(time.Now.AddSeconds(30).ToString("r", CultureInfo.InvariantCulture));
        using var client = Client(registry, time);

        await using var stream = await client.Client.OpenBlobAsync(registry.Reference("demo/app:1"), blob, Scope, CancellationToken.None);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.Equal(content, copy.ToArray());
        Assert.Equal([TimeSpan.FromSeconds(30)], time.Delays);
    }

    [Fact]
    public async Task ResolveAsync_429WithRetryAfter3600_FailsFastNamingTheWait()
    {
        await using var registry = await FakeRegistry.StartAsync();
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        registry.TooManyRequests.Enqueue("3600");
        var time = new RecordingTimeProvider();
        using var client = Client(registry, time);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryUnreachable, ex.Code);
        Assert.Contains("retry after 3600 s", ex.Message);
        Assert.Empty(time.Delays);
        Assert.Single(registry.Requests);
    }

    [Fact]
    public async Task ResolveAsync_429WithoutRetryAfter_BacksOffAndRetries()
    {
        await using var registry = await FakeRegistry.StartAsync();
        var image = TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        registry.TooManyRequests.Enqueue(null);
        registry.TooManyRequests.Enqueue(null);
        var time = new RecordingTimeProvider();
        // A base pause of 1 s, not the other tests' 10 ms: the jittered first pause can be any
        // fraction of the base, and a wait under 1 ms starts no timer (Task.Delay counts whole
        // milliseconds), so with 10 ms about one run in 200 recorded a single pause.
        using var client = Client(registry, time, transientRetryDelay: "00:00:01");

        var resolved = await client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None);

        Assert.Equal(image.Manifest.Digest, resolved.Manifest.Digest);
        Assert.Equal(3, registry.Requests.Count(r => r.Path.Contains("/manifests/", StringComparison.Ordinal)));
        Assert.Equal(2, time.Delays.Count);
        // Exponential backoff with decorrelated jitter: the first pause is at most about 1.4 × the
        // base, the second at most about 2.9 ×; neither is a Retry-After the server never sent.
        Assert.All(time.Delays, d => Assert.InRange(d, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task ResolveAsync_429EveryTime_ThrowsUnreachableAfterBoundedRetries()
    {
        await using var registry = await FakeRegistry.StartAsync();
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        for (int i = 0; i < 10; i++)
        {
            registry.TooManyRequests.Enqueue("1");
        }
        var time = new RecordingTimeProvider();
        using var client = Client(registry, time);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(registry.Reference("demo/app:1"), Architectures.Amd64, Scope, CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryUnreachable, ex.Code);
        Assert.Equal(3, registry.Requests.Count);
    }

    private static RegistryTestClient Client(FakeRegistry registry, RecordingTimeProvider time, string? transientRetryDelay = null)
    {
        var settings = RegistryTestClient.Settings(registry.Host);
        if (transientRetryDelay is not null)
        {
            settings["Pipeline:Registry:TransientRetryDelay"] = transientRetryDelay;
        }
        return new(settings, services => services.AddSingleton<TimeProvider>(time));
    }
}
