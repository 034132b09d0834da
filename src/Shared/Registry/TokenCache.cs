using System.Collections.Concurrent;

namespace Pipeline.Registry;

/// <summary>
/// Who an authorization is for. The tenant is part of the key so that a token obtained with one
/// tenant's credentials is never presented for another tenant (CONVENTIONS.md, "No static mutable state");
/// <see cref="CredentialFingerprint"/> (a keyed hash of user and password, see
/// <see cref="CredentialFingerprint"/>) makes a changed password fetch a new token instead of reusing
/// the one the old password obtained.
/// </summary>
internal readonly record struct AuthKey(string TenantId, string Registry, string Scope, string? Username, string? CredentialFingerprint);

/// <summary>What the cache remembers: a bearer token, or only that a registry wants Basic (never the password).</summary>
internal sealed record CachedAuth(string? BearerToken, DateTimeOffset ExpiresAt)
{
    public bool IsBasic => BearerToken is null;
}

/// <summary>Per-instance cache of registry authorizations, bounded by expiry.</summary>
internal sealed class TokenCache(TimeProvider time)
{
    private const int PurgeThreshold = 1024;
    private readonly ConcurrentDictionary<AuthKey, CachedAuth> _entries = new();

    public CachedAuth? Get(AuthKey key)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.ExpiresAt > time.GetUtcNow())
            {
                return entry;
            }
            _entries.TryRemove(new KeyValuePair<AuthKey, CachedAuth>(key, entry));
        }
        return null;
    }

    public void Set(AuthKey key, CachedAuth entry)
    {
        _entries[key] = entry;
        if (_entries.Count > PurgeThreshold)
        {
            var now = time.GetUtcNow();
            foreach (var pair in _entries)
            {
                if (pair.Value.ExpiresAt <= now)
                {
                    _entries.TryRemove(pair);
                }
            }
        }
    }

    /// <summary>Forgets <paramref name="entry"/>, unless a concurrent caller has already replaced it with a fresh one.</summary>
    public void Remove(AuthKey key, CachedAuth entry) => _entries.TryRemove(new KeyValuePair<AuthKey, CachedAuth>(key, entry));

    internal int Count => _entries.Count;
}
