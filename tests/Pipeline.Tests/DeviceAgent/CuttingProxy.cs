using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// The device's flaky link, between the agent and Azurite's blob endpoint: a loopback HTTP
/// forwarder (LocalHost's <c>Pipeline__Downloads__BaseUrl</c> points the plan's URLs at it) that
/// passes requests and responses through unchanged, counts the body bytes it delivers per blob, and
/// for a chosen blob drops the connection or goes silent when the response reaches a byte offset.
/// </summary>
public sealed class CuttingProxy : IAsyncDisposable
{
    private const int ChunkBytes = 16 * 1024;

    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.None }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly Uri _target;
    private readonly ConcurrentDictionary<string, long> _sent = new();
    private readonly ConcurrentQueue<BlobFault> _faults = new();
    private string? _faultedHex;

    private CuttingProxy(WebApplication app, Uri baseUri, Uri target)
    {
        _app = app;
        BaseUri = baseUri;
        _target = target;
    }

    /// <summary>The proxy's origin; append the account (<c>/devstoreaccount1</c>) for a blob base URL.</summary>
    public Uri BaseUri { get; }

    /// <summary>Forwards to <paramref name="target"/> (Azurite's blob origin, <c>http://127.0.0.1:PORT</c>).</summary>
    public static async Task<CuttingProxy> StartAsync(Uri target)
    {
        int port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var proxy = new CuttingProxy(app, new Uri($"http://127.0.0.1:{port}"), target);
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        return proxy;
    }

    /// <summary>The faults for the next responses of blob <paramref name="digest"/>, one per response, in order; later ones pass.</summary>
    public void Cut(string digest, params BlobFault[] faults)
    {
        _faultedHex = digest[7..];
        foreach (var fault in faults)
        {
            _faults.Enqueue(fault);
        }
    }

    public void Heal() => _faults.Clear();

    /// <summary>Body bytes delivered for <paramref name="digest"/>, every response together.</summary>
    public long SentBytes(string digest) => _sent.GetValueOrDefault(digest[7..]);

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private async Task ForwardAsync(HttpContext http)
    {
        using var request = new HttpRequestMessage(new HttpMethod(http.Request.Method), new Uri(_target, http.Request.Path + http.Request.QueryString));
        foreach (var header in http.Request.Headers.Where(h => h.Key is "Range" or "x-ms-version" or "If-None-Match" or "If-Match"))
        {
            request.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
        }
        using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
        http.Response.StatusCode = (int)response.StatusCode;
        foreach (var header in response.Headers.Concat(response.Content.Headers).Where(h => h.Key is not ("Transfer-Encoding" or "Connection" or "Keep-Alive")))
        {
            http.Response.Headers[header.Key] = header.Value.ToArray();
        }
        string hex = http.Request.Path.Value?.Split('/')[^1] ?? "";
        BlobFault? fault = hex == _faultedHex && response.IsSuccessStatusCode && _faults.TryDequeue(out var f) ? f : null;
        long position = response.Content.Headers.ContentRange?.From ?? 0;
        await using var body = await response.Content.ReadAsStreamAsync(http.RequestAborted);
        var buffer = new byte[ChunkBytes];
        while (true)
        {
            long? stop = fault?.DropAt ?? fault?.StallAt;
            int want = stop is { } s && s > position ? (int)Math.Min(buffer.Length, s - position) : buffer.Length;
            if (stop is { } at && at <= position)
            {
                await http.Response.Body.FlushAsync();
                if (fault!.DropAt is not null)
                {
                    // Let the delivered bytes reach the device, then break the link like a lost carrier.
                    await Task.Delay(200);
                    http.Abort();
                }
                else
                {
                    await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { });
                }
                return;
            }
            int n = await body.ReadAsync(buffer.AsMemory(0, want), http.RequestAborted);
            if (n == 0)
            {
                return;
            }
            await http.Response.Body.WriteAsync(buffer.AsMemory(0, n), http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            _sent.AddOrUpdate(hex, n, (_, total) => total + n);
            position += n;
        }
    }
}
