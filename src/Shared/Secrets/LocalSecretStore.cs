using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;
using Pipeline.Storage;

namespace Pipeline.Secrets;

/// <summary>
/// Secrets encrypted with AES-256-GCM in table <c>secrets</c>; the key is not in that table but
/// in configuration or in the blob container <c>secret-keys</c>. The secret's name is bound to its
/// ciphertext as associated data, so an entry copied under another name does not decrypt.
/// </summary>
public sealed class LocalSecretStore(PipelineStorage storage, IOptions<SecretOptions> options) : ISecretStore
{
    public const string Table = "secrets";
    public const string KeyContainer = "secret-keys";
    private const string KeyBlob = "local-v1.key";
    private const string Partition = "secret";
    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private byte[]? _key;

    public async Task PutAsync(string name, string value, CancellationToken cancellationToken)
    {
        byte[] key = await KeyAsync(cancellationToken).ConfigureAwait(false);
        byte[] plain = Encoding.UTF8.GetBytes(value);
        byte[] nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        byte[] cipher = new byte[plain.Length];
        byte[] tag = new byte[AesGcm.TagByteSizes.MaxSize];
        using (var aes = new AesGcm(key, tag.Length))
        {
            aes.Encrypt(nonce, plain, cipher, tag, Encoding.UTF8.GetBytes(name));
        }
        CryptographicOperations.ZeroMemory(plain);
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        await table.UpsertEntityAsync(new TableEntity(Partition, name)
        {
            ["v"] = Convert.ToBase64String([.. nonce, .. tag, .. cipher]),
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string?> GetAsync(string name, CancellationToken cancellationToken)
    {
        var table = await storage.TableAsync(Table, cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(Partition, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!row.HasValue || row.Value?.GetString("v") is not { } stored)
        {
            return null;
        }
        byte[] key = await KeyAsync(cancellationToken).ConfigureAwait(false);
        byte[] blob = Convert.FromBase64String(stored);
        int n = AesGcm.NonceByteSizes.MaxSize, t = AesGcm.TagByteSizes.MaxSize;
        byte[] plain = new byte[blob.Length - n - t];
        using (var aes = new AesGcm(key, t))
        {
            aes.Decrypt(blob.AsSpan(0, n), blob.AsSpan(n + t), blob.AsSpan(n, t), plain, Encoding.UTF8.GetBytes(name));
        }
        return Encoding.UTF8.GetString(plain);
    }

    private async Task<byte[]> KeyAsync(CancellationToken cancellationToken)
    {
        if (_key is { } cached)
        {
            return cached;
        }
        await _keyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _key ??= options.Value.LocalKey is { Length: > 0 } configured
                ? Convert.FromBase64String(configured)
                : await LoadOrCreateKeyAsync(cancellationToken).ConfigureAwait(false);
            if (_key.Length != 32)
            {
                throw new InvalidOperationException("Pipeline:Secrets:LocalKey must be 32 bytes, base64.");
            }
            return _key;
        }
        finally
        {
            _keyLock.Release();
        }
    }

    private async Task<byte[]> LoadOrCreateKeyAsync(CancellationToken cancellationToken)
    {
        var container = storage.Blobs.GetBlobContainerClient(KeyContainer);
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var blob = container.GetBlobClient(KeyBlob);
        try
        {
            // Two processes starting at once: the first write wins and both read it back.
            await blob.UploadAsync(BinaryData.FromBytes(RandomNumberGenerator.GetBytes(32)),
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
        }
        var content = await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
        return content.Value.Content.ToArray();
    }
}
