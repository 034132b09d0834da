using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Pipeline.Oci;

namespace Pipeline.Tests.Fixtures;

/// <summary>Reads snapshot blobs back from storage, as a device or an auditor would.</summary>
public static class StoredBlobs
{
    /// <summary>Downloads <c>snapshots/sha256/&lt;hex&gt;</c> and returns its size and the sha256 of its bytes.</summary>
    public static async Task<(long Size, Digest Hash)> ReadAsync(string connectionString, Digest digest)
    {
        var blob = new BlobClient(connectionString, "snapshots", "sha256/" + digest.Hex);
        await using var stream = await blob.OpenReadAsync();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long size = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, n);
            size += n;
        }
        return (size, Digest.FromHash(sha.GetHashAndReset()));
    }
}
