using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// A token service for the CNCF registry's <c>auth: token:</c> mode (Docker token authentication,
/// https://distribution.github.io/distribution/spec/auth/token/), in process on a free loopback port:
/// it checks Basic credentials against its users, grants the intersection of the requested and the
/// user's allowed actions, and signs an RS256 JWT whose <c>x5c</c> header carries a self-signed
/// certificate; <see cref="RootCertBundlePath"/> is that certificate, for the registry's
/// <c>rootcertbundle</c>. Every request's scope and user are recorded.
/// </summary>
public sealed class RegistryTokenServer : IAsyncDisposable
{
    public const string Service = "pipeline-test-registry";
    public const string Issuer = "pipeline-test-token-server";

    private readonly WebApplication _app;
    private readonly RSA _key;
    private readonly X509Certificate2 _certificate;
    private readonly string _directory;
    private readonly Dictionary<string, (string Password, string[] Actions)> _users = new(StringComparer.Ordinal);

    private RegistryTokenServer(WebApplication app, RSA key, X509Certificate2 certificate, string directory)
    {
        _app = app;
        _key = key;
        _certificate = certificate;
        _directory = directory;
    }

    /// <summary><c>http://127.0.0.1:PORT/token</c>.</summary>
    public string Realm { get; private set; } = "";

    /// <summary>PEM file with the signing certificate.</summary>
    public string RootCertBundlePath => Path.Combine(_directory, "root.pem");

    /// <summary>Actions granted without credentials (none by default).</summary>
    public string[] AnonymousActions { get; set; } = [];

    /// <summary>Token lifetime announced in <c>expires_in</c> and written into <c>exp</c>.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Each token request: the user (empty when anonymous), the scope asked for and the actions granted.</summary>
    public ConcurrentQueue<(string User, string Scope, string Service, string Granted)> Requests { get; } = new();

    /// <summary>A user who may perform <paramref name="actions"/> (e.g. pull, push) on every repository.</summary>
    public void AddUser(string user, string password, params string[] actions) => _users[user] = (password, actions);

    /// <summary>The registry configuration section that delegates authentication to this server.</summary>
    public string RegistryAuthSection =>
        $"""
        auth:
          token:
            realm: {Realm}
            service: {Service}
            issuer: {Issuer}
            rootcertbundle: {RootCertBundlePath}
        """;

    public static async Task<RegistryTokenServer> StartAsync()
    {
        string directory = Directory.CreateTempSubdirectory("pipeline-tokens-").FullName;
        var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=pipeline test token signer", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        RegistryTokenServer? server = null;
        app.Run(ctx => server!.HandleAsync(ctx));
        server = new RegistryTokenServer(app, key, certificate, directory);
        await File.WriteAllTextAsync(server.RootCertBundlePath, certificate.ExportCertificatePem() + "\n");
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Realm = $"http://127.0.0.1:{new Uri(address).Port}/token";
        return server;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        if (ctx.Request.Path != "/token")
        {
            ctx.Response.StatusCode = 404;
            return;
        }
        string user = "";
        string[] allowed = AnonymousActions;
        string authorization = ctx.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Basic ", StringComparison.Ordinal))
        {
            string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization["Basic ".Length..]));
            int colon = decoded.IndexOf(':');
            user = colon < 0 ? decoded : decoded[..colon];
            if (colon < 0 || !_users.TryGetValue(user, out var entry) || entry.Password != decoded[(colon + 1)..])
            {
                Requests.Enqueue((user, ctx.Request.Query["scope"].ToString(), ctx.Request.Query["service"].ToString(), "refused"));
                ctx.Response.StatusCode = 401;
                return;
            }
            allowed = entry.Actions;
        }

        var access = new JsonArray();
        var granted = new List<string>();
        foreach (string scope in ctx.Request.Query["scope"].SelectMany(s => (s ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            // repository:name:action[,action]; the name itself may contain ':' only for a port, which repositories do not have.
            string[] parts = scope.Split(':');
            if (parts.Length != 3)
            {
                continue;
            }
            var actions = parts[2].Split(',').Where(allowed.Contains).ToArray();
            access.Add(new JsonObject { ["type"] = parts[0], ["name"] = parts[1], ["actions"] = new JsonArray([.. actions.Select(a => (JsonNode)a)]) });
            granted.Add($"{parts[0]}:{parts[1]}:{string.Join(',', actions)}");
        }
        Requests.Enqueue((user, string.Join(' ', ctx.Request.Query["scope"].ToArray()), ctx.Request.Query["service"].ToString(), string.Join(' ', granted)));

        var now = DateTimeOffset.UtcNow;
        var claims = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = user,
            ["aud"] = Service,
            ["exp"] = (now + Lifetime).ToUnixTimeSeconds(),
            ["nbf"] = now.AddSeconds(-10).ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = access,
        };
        var header = new JsonObject
        {
            ["typ"] = "JWT",
            ["alg"] = "RS256",
            ["x5c"] = new JsonArray(Convert.ToBase64String(_certificate.RawData)),
        };
        string signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        byte[] signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        string token = signingInput + "." + Base64Url(signature);

        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["token"] = token,
            ["expires_in"] = (int)Lifetime.TotalSeconds,
            ["issued_at"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        }));
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _certificate.Dispose();
        _key.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
