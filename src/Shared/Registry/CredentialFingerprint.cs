using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Registry;

/// <summary>
/// A short keyed hash (HMAC-SHA256 with a random per-instance key) of a user name and password, for
/// token-cache keys: a changed password gets its own cache entry, while the cache holds nothing a
/// password could be recovered or brute-forced from outside this process.
/// </summary>
internal sealed class CredentialFingerprint
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public string? Of(RegistryCredentials? credentials)
    {
        if (credentials is null)
        {
            return null;
        }
        int max = Encoding.UTF8.GetMaxByteCount(credentials.Username.Length + credentials.Password.Length + 1);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            int n = Encoding.UTF8.GetBytes(credentials.Username, buffer);
            buffer[n++] = 0;
            n += Encoding.UTF8.GetBytes(credentials.Password, buffer.AsSpan(n));
            Span<byte> mac = stackalloc byte[32];
            HMACSHA256.HashData(_key, buffer.AsSpan(0, n), mac);
            return Convert.ToHexStringLower(mac[..16]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
