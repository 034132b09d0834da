using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Pipeline.Storage;

namespace Pipeline.Api.Auth;

/// <summary>
/// Tenant API keys (<see cref="BearerKeys"/>), stored only as their SHA-256 (table
/// <c>apikeys</c>, row key = hash); the admin key comes from configuration and is compared in
/// constant time. A key found is remembered in process for half a minute, so a busy client costs
/// one storage read per half minute rather than one per request (keys are never revoked sooner).
/// </summary>
public sealed class ApiKeyStore(PipelineStorage storage, IOptions<PipelineOptions> options) : IDisposable
{
    private static readonly TimeSpan Remembered = TimeSpan.FromSeconds(30);

    private readonly MemoryCache _known = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    public const string Table = "apikeys";
    private const string Partition = "key";
    private const string KeyPrefix = "pk_";

    /// <summary>Creates a key for a customer and returns it; only its hash is kept.</summary>
    public async Task<string> CreateAsync(string customerId, IReadOnlyCollection<string> roles, CancellationToken cancellationToken)
    {
        string key = BearerKeys.New(KeyPrefix);
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(Partition, Hash(key))
        {
            ["customer_id"] = customerId,
            ["roles"] = string.Join(',', roles),
            ["created"] = DateTimeOffset.UtcNow,
        };
        await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        return key;
    }

    /// <summary>The caller a bearer key stands for, or null for an unknown key.</summary>
    public async Task<ApiCaller?> AuthenticateAsync(string? key, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 256)
        {
            return null;
        }
        string? admin = options.Value.AdminKey;
        if (!string.IsNullOrEmpty(admin) &&
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(admin)))
        {
            return new ApiCaller(null, new HashSet<string>(StringComparer.Ordinal) { ApiRoles.Admin });
        }
        if (!key.StartsWith(KeyPrefix, StringComparison.Ordinal))
        {
            return null;
        }
        string hash = Hash(key);
        if (_known.TryGetValue(hash, out ApiCaller? known))
        {
            return known;
        }
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        try
        {
            var row = await table.GetEntityAsync<TableEntity>(Partition, hash, cancellationToken: cancellationToken).ConfigureAwait(false);
            var roles = (row.Value.GetString("roles") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
            var caller = new ApiCaller(row.Value.GetString("customer_id"), new HashSet<string>(roles, StringComparer.Ordinal));
            _known.Set(hash, caller, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = Remembered });
            return caller;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public static string Hash(string key) => BearerKeys.Hash(key);

    public void Dispose() => _known.Dispose();
}
