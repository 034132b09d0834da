using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Oci;

namespace Pipeline.Tests.Registry;

/// <summary>
/// A small in-process distribution registry (Kestrel on 127.0.0.1, a free port) serving the
/// manifests and blobs a test gives it, with switches for the faults the client must survive:
/// bearer tokens from its own token endpoint (revocable), Basic auth, corrupted or resized blobs,
/// a lying Docker-Content-Digest, bodies without Content-Length, endless bodies, 5xx, redirects.
/// </summary>
internal sealed class FakeRegistry : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<(string Repo, string Reference), ManifestEntry> _manifests = new();
    private readonly ConcurrentDictionary<(string Repo, string Digest), byte[]> _blobs = new();
    private readonly ConcurrentDictionary<string, bool> _validTokens = new();
    private int _tokenRequests;
    private int _blobGets;
    private int _drops;
    private int _stalls;
    private int _pointIndex;
    private int _tokenCounter;

    private FakeRegistry(WebApplication app, int port)
    {
        _app = app;
        Host = $"127.0.0.1:{port}";
    }

    /// <summary><c>127.0.0.1:port</c>, as written in an image reference.</summary>
    public string Host { get; }

    /// <summary>When set, /v2/ requests need a bearer token from <c>/token</c>.</summary>
    public bool RequireToken { get; set; }

    /// <summary>When set, Basic credentials are required: on /v2/ (no token mode) or on /token (token mode).</summary>
    public (string User, string Password)? RequiredCredentials { get; set; }

    /// <summary>Serve blob bodies chunked, without Content-Length (so only the stream can notice a size error).</summary>
    public bool OmitBlobContentLength { get; set; }

    /// <summary>Serve manifests chunked, without Content-Length.</summary>
    public bool OmitManifestContentLength { get; set; }

    /// <summary>Answer every /v2/ request with this status (e.g. 503).</summary>
    public HttpStatusCode? FailWith { get; set; }

    /// <summary>Blob GETs answer 307 to this registry's same path.</summary>
    public FakeRegistry? RedirectBlobsTo { get; set; }

    /// <summary>Replaces the token endpoint's JSON answer.</summary>
    public Func<string, string>? TokenBody { get; set; }

    /// <summary>Manifest GETs stream an endless JSON-looking body.</summary>
    public bool EndlessManifests { get; set; }

    /// <summary>Overrides the realm of the Bearer challenge (default <c>http://{Host}/token</c>).</summary>
    public string? TokenRealm { get; set; }

    /// <summary>Blob GETs answer 307 to the URL this returns for the request path (any host).</summary>
    public Func<string, string>? RedirectBlobsToUrl { get; set; }

    /// <summary>Cut the connection once the body has reached this byte offset of the blob.</summary>
    public long? BlobDropAt { get; set; }

    /// <summary>How many blob responses are cut at <see cref="BlobDropAt"/> (default: the first only).</summary>
    public int BlobDropCount { get; set; } = 1;

    /// <summary>The k-th blob response is cut at the k-th offset (absolute positions in the blob).</summary>
    public long[]? BlobDropPoints { get; set; }

    /// <summary>At the first cut, also revoke every token (it "expires" mid-import).</summary>
    public bool RevokeTokensOnDrop { get; set; }

    /// <summary>Stop sending (without closing) once the first blob body reaches this offset.</summary>
    public long? BlobStallAt { get; set; }

    /// <summary>How <c>Range</c> requests for blobs are answered.</summary>
    public RangeBehaviour Range { get; set; } = RangeBehaviour.Honour;

    /// <summary>Blob responses after the first serve these bytes instead (a blob that "changes").</summary>
    public byte[]? LaterBlobContent { get; set; }

    /// <summary>Each /v2/ request takes one entry and answers 429 with it as <c>Retry-After</c> (null: no header).</summary>
    public ConcurrentQueue<string?> TooManyRequests { get; } = new();

    /// <summary>404 answers carry an endless body.</summary>
    public bool EndlessErrorBodies { get; set; }

    /// <summary>Status codes of the blob answers, in order.</summary>
    public ConcurrentQueue<int> BlobStatuses { get; } = new();

    public int TokenRequests => _tokenRequests;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public static async Task<FakeRegistry> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeRegistry? registry = null;
        app.Run(ctx => registry!.HandleAsync(ctx));
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        registry = new FakeRegistry(app, new Uri(address).Port);
        return registry;
    }

    public ImageReference Reference(string repositoryAndTag) => ImageReference.Parse($"{Host}/{repositoryAndTag}");

    public Descriptor PutBlob(string repository, byte[] content, string mediaType = MediaTypes.OciLayerGzip)
    {
        var digest = Digest.Compute(content);
        _blobs[(repository, digest.ToString())] = content;
        return new Descriptor(mediaType, digest, content.Length);
    }

    /// <summary>Serves <paramref name="content"/> as the blob <paramref name="digest"/>, whatever it hashes to.</summary>
    public void PutBlobRaw(string repository, Digest digest, byte[] content) => _blobs[(repository, digest.ToString())] = content;

    /// <summary>Stores a manifest under its digest and, if given, a tag.</summary>
    public Descriptor PutManifest(string repository, string? tag, byte[] body, string mediaType)
    {
        var digest = Digest.Compute(body);
        var entry = new ManifestEntry(body, mediaType, digest.ToString());
        _manifests[(repository, digest.ToString())] = entry;
        if (tag is not null)
        {
            _manifests[(repository, tag)] = entry;
        }
        return new Descriptor(mediaType, digest, body.Length);
    }

    /// <summary>Serves exactly this under a reference (tag or digest), with the given headers.</summary>
    public void PutManifestRaw(string repository, string reference, byte[] body, string contentType, string? dockerContentDigest) =>
        _manifests[(repository, reference)] = new ManifestEntry(body, contentType, dockerContentDigest);

    /// <summary>Every token issued so far stops being accepted (as if it expired).</summary>
    public void RevokeTokens() => _validTokens.Clear();

    private async Task HandleAsync(HttpContext ctx)
    {
        string path = ctx.Request.Path.Value ?? "";
        Requests.Enqueue(new RecordedRequest(
            ctx.Request.Method, path, ctx.Request.Headers.Authorization.ToString(), ctx.Request.Headers.Accept.ToString(), ctx.Request.Headers.Range.ToString()));
        if (path == "/token")
        {
            await HandleTokenAsync(ctx);
            return;
        }
        if (!path.StartsWith("/v2/", StringComparison.Ordinal))
        {
            ctx.Response.StatusCode = 404;
            return;
        }
        if (FailWith is { } status)
        {
            ctx.Response.StatusCode = (int)status;
            return;
        }
        if (TooManyRequests.TryDequeue(out string? retryAfter))
        {
            ctx.Response.StatusCode = 429;
            if (retryAfter is not null)
            {
                ctx.Response.Headers.RetryAfter = retryAfter;
            }
            return;
        }
        if (!Authorized(ctx))
        {
            return;
        }

        string rest = path["/v2/".Length..];
        int manifests = rest.LastIndexOf("/manifests/", StringComparison.Ordinal);
        int blobs = rest.LastIndexOf("/blobs/", StringComparison.Ordinal);
        if (manifests > 0)
        {
            await ServeManifestAsync(ctx, rest[..manifests], rest[(manifests + "/manifests/".Length)..]);
        }
        else if (blobs > 0)
        {
            await ServeBlobAsync(ctx, rest[..blobs], rest[(blobs + "/blobs/".Length)..]);
        }
        else
        {
            ctx.Response.StatusCode = 404;
        }
    }

    private bool Authorized(HttpContext ctx)
    {
        string auth = ctx.Request.Headers.Authorization.ToString();
        if (RequireToken)
        {
            if (auth.StartsWith("Bearer ", StringComparison.Ordinal) && _validTokens.ContainsKey(auth["Bearer ".Length..]))
            {
                return true;
            }
            string repo = ctx.Request.Path.Value!.Split("/manifests/")[0].Split("/blobs/")[0]["/v2/".Length..];
            ctx.Response.StatusCode = 401;
            ctx.Response.Headers.WWWAuthenticate =
                $"Bearer realm=\"{TokenRealm ?? $"http://{Host}/token"}\",service=\"fake registry, loopback\",scope=\"repository:{repo}:pull\"";
            return false;
        }
        if (RequiredCredentials is { } creds && auth != BasicHeader(creds.User, creds.Password))
        {
            ctx.Response.StatusCode = 401;
            ctx.Response.Headers.WWWAuthenticate = "Basic realm=\"fake-registry\"";
            return false;
        }
        return true;
    }

    private async Task HandleTokenAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _tokenRequests);
        if (RequiredCredentials is { } creds && ctx.Request.Headers.Authorization.ToString() != BasicHeader(creds.User, creds.Password))
        {
            ctx.Response.StatusCode = 401;
            return;
        }
        string token = $"token-{Interlocked.Increment(ref _tokenCounter)}";
        _validTokens[token] = true;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(TokenBody?.Invoke(token) ?? $"{{\"token\":\"{token}\",\"expires_in\":300}}");
    }

    private async Task ServeManifestAsync(HttpContext ctx, string repo, string reference)
    {
        if (EndlessManifests)
        {
            ctx.Response.ContentType = MediaTypes.OciManifest;
            byte[] chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
            await ctx.Response.WriteAsync("{\"schemaVersion\":2,", ctx.RequestAborted);
            try
            {
                while (!ctx.RequestAborted.IsCancellationRequested)
                {
                    await ctx.Response.Body.WriteAsync(chunk, ctx.RequestAborted);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
            }
            return;
        }
        if (!_manifests.TryGetValue((repo, reference), out var entry))
        {
            ctx.Response.StatusCode = 404;
            await ctx.Response.WriteAsync("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}");
            return;
        }
        ctx.Response.ContentType = entry.ContentType;
        if (entry.DockerContentDigest is not null)
        {
            ctx.Response.Headers["Docker-Content-Digest"] = entry.DockerContentDigest;
        }
        if (!OmitManifestContentLength)
        {
            ctx.Response.ContentLength = entry.Body.Length;
        }
        if (ctx.Request.Method != "HEAD")
        {
            await ctx.Response.Body.WriteAsync(entry.Body);
        }
    }

    private async Task ServeBlobAsync(HttpContext ctx, string repo, string digest)
    {
        if (ctx.Request.Method == "GET" && (RedirectBlobsToUrl is not null || RedirectBlobsTo is not null))
        {
            ctx.Response.StatusCode = 307;
            ctx.Response.Headers.Location = RedirectBlobsToUrl?.Invoke(ctx.Request.Path.Value!)
                ?? $"http://{RedirectBlobsTo!.Host}{ctx.Request.Path}?signature=secret-signature";
            return;
        }
        if (!_blobs.TryGetValue((repo, digest), out var content))
        {
            ctx.Response.StatusCode = 404;
            await WriteErrorBodyAsync(ctx);
            return;
        }
        bool first = Interlocked.Increment(ref _blobGets) == 1 || ctx.Request.Method == "HEAD";
        if (!first && LaterBlobContent is { } later)
        {
            content = later;
        }
        ctx.Response.ContentType = "application/octet-stream";
        ctx.Response.Headers["Docker-Content-Digest"] = digest;
        long start = 0;
        if (ctx.Request.Method == "GET" && TryParseRange(ctx.Request.Headers.Range.ToString(), out long from) && Range != RangeBehaviour.Ignore)
        {
            start = Range == RangeBehaviour.WrongContentRange ? Math.Min(from + 7, content.Length) : from;
            ctx.Response.StatusCode = 206;
            ctx.Response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }
        BlobStatuses.Enqueue(ctx.Response.StatusCode);
        if (!OmitBlobContentLength)
        {
            ctx.Response.ContentLength = content.Length - start;
        }
        if (ctx.Request.Method == "HEAD")
        {
            return;
        }

        long end = content.Length;
        bool drop = false;
        if (BlobDropAt is long dropAt && dropAt < content.Length && Interlocked.Increment(ref _drops) <= BlobDropCount)
        {
            end = Math.Max(start, dropAt);
            drop = true;
        }
        if (BlobDropPoints is { } points)
        {
            int k = Interlocked.Increment(ref _pointIndex) - 1;
            if (k < points.Length && points[k] > start)
            {
                end = points[k];
                drop = true;
            }
        }
        bool stall = false;
        if (BlobStallAt is long stallAt && Interlocked.Increment(ref _stalls) == 1)
        {
            end = Math.Max(start, Math.Min(end, stallAt));
            stall = true;
        }
        // Two writes, so that a reader sees the body arrive in pieces.
        long half = start + (end - start) / 2;
        await ctx.Response.Body.WriteAsync(content.AsMemory((int)start, (int)(half - start)));
        await ctx.Response.Body.FlushAsync();
        await ctx.Response.Body.WriteAsync(content.AsMemory((int)half, (int)(end - half)));
        await ctx.Response.Body.FlushAsync();
        if (stall)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
            return;
        }
        if (drop)
        {
            if (RevokeTokensOnDrop)
            {
                RevokeTokens();
            }
            ctx.Abort();
        }
    }

    private async Task WriteErrorBodyAsync(HttpContext ctx)
    {
        if (!EndlessErrorBodies)
        {
            return;
        }
        byte[] chunk = Encoding.ASCII.GetBytes(new string('e', 64 * 1024));
        try
        {
            while (!ctx.RequestAborted.IsCancellationRequested)
            {
                await ctx.Response.Body.WriteAsync(chunk, ctx.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
        }
    }

    private static bool TryParseRange(string header, out long from)
    {
        from = 0;
        return header.StartsWith("bytes=", StringComparison.Ordinal) && header.EndsWith('-') &&
            long.TryParse(header["bytes=".Length..^1], out from);
    }

    public static string BasicHeader(string user, string password) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed record ManifestEntry(byte[] Body, string ContentType, string? DockerContentDigest);
}

internal sealed record RecordedRequest(string Method, string Path, string Authorization, string Accept, string Range = "");

/// <summary>How <see cref="FakeRegistry"/> answers <c>Range: bytes=N-</c>.</summary>
internal enum RangeBehaviour
{
    /// <summary>206 with exactly the bytes asked for.</summary>
    Honour,

    /// <summary>200 with the whole blob, as if Range were not supported.</summary>
    Ignore,

    /// <summary>206 with a (truthfully labelled) range other than the one asked for.</summary>
    WrongContentRange,
}
