using System.Security.Cryptography;
using Azure.Storage;
using Azure.Storage.Blobs.Models;

namespace Pipeline.Storage;

/// <summary>
/// The Content-MD5 of a request body, computed over the whole buffer in one call (the SDK would
/// hash the body through a stream in 4 KiB steps, three times the CPU). MD5 is what the storage
/// protocol checks a body with; a blob's identity here is its sha256.
/// </summary>
internal static class ContentMd5
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "Transport checksum defined by the storage protocol, not a security use.")]
    public static byte[] Of(ReadOnlySpan<byte> body) => MD5.HashData(body);

    /// <summary>
    /// Put Block options that send the block's Content-MD5: the service checks the block as it
    /// stores it. Without one it computes a CRC64 of the block to return (on Azurite, in
    /// JavaScript, several times the CPU of the upload itself).
    /// </summary>
    public static BlockBlobStageBlockOptions StageBlockOptions(ReadOnlySpan<byte> block) => new()
    {
        TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5, PrecalculatedChecksum = Of(block) },
    };
}
