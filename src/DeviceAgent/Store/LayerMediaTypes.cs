using System.IO.Compression;
using ZstdSharp;

namespace DeviceAgent.Store;

/// <summary>
/// Which blobs are layers and how to get their tar out: OCI and Docker layer media types,
/// uncompressed, gzip or zstd. Anything else (a config, an unknown type) is not indexed.
/// </summary>
internal static class LayerMediaTypes
{
    public enum Compression
    {
        None,
        Gzip,
        Zstd,
    }

    public static Compression? Of(string? mediaType) => mediaType switch
    {
        "application/vnd.oci.image.layer.v1.tar" or "application/vnd.docker.image.rootfs.diff.tar"
            or "application/vnd.oci.image.layer.nondistributable.v1.tar" => Compression.None,
        "application/vnd.oci.image.layer.v1.tar+gzip" or "application/vnd.docker.image.rootfs.diff.tar.gzip"
            or "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" or "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Compression.Gzip,
        "application/vnd.oci.image.layer.v1.tar+zstd" or "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => Compression.Zstd,
        _ => null,
    };

    /// <summary>The layer's tar, read through the right decompressor; disposing it closes <paramref name="blob"/>.</summary>
    public static Stream OpenTar(Stream blob, Compression compression) => compression switch
    {
        Compression.Gzip => new GZipStream(blob, CompressionMode.Decompress),
        Compression.Zstd => new DecompressionStream(blob),
        _ => blob,
    };
}
