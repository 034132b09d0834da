using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Pipeline.Chunking;

namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// A layer as the server's side of the chunk extension prepares it, built with the chunk format
/// library from a real tar: the gzip layer, its <c>diff_id</c>, the casync index of the contents
/// stream, the tar-split headers (one zstd frame), the pack (every entry's frame in index order)
/// and the pack table. <see cref="Serve"/> puts it behind a <see cref="FakeDeviceApi"/>.
/// </summary>
internal sealed class ChunkedLayer
{
    public const string GzipLayer = "application/vnd.oci.image.layer.v1.tar+gzip";

    private ChunkedLayer(byte[] tar, byte[] compressed, byte[] contents, byte[] headers, byte[] index, CaibxIndex parsed, byte[] pack, int[] frames)
    {
        Tar = tar;
        Compressed = compressed;
        Contents = contents;
        HeadersRaw = headers;
        Index = index;
        Entries = parsed.Entries;
        Pack = pack;
        Frames = frames;
    }

    public byte[] Tar { get; }

    public byte[] Compressed { get; }

    public string Digest => Sha256(Compressed);

    public string DiffId => Sha256(Tar);

    /// <summary>The contents stream: the files' data, without tar headers and padding.</summary>
    public byte[] Contents { get; }

    /// <summary>The headers stream, uncompressed (<see cref="TarSplitFormat"/>).</summary>
    public byte[] HeadersRaw { get; }

    public byte[] Index { get; }

    public IReadOnlyList<CaibxEntry> Entries { get; }

    public byte[] Pack { get; }

    /// <summary>Each entry's frame length in the pack.</summary>
    public int[] Frames { get; }

    public byte[] PackTable
    {
        get
        {
            var table = new byte[4 * Frames.Length];
            for (int k = 0; k < Frames.Length; k++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(4 * k), (uint)Frames[k]);
            }
            return table;
        }
    }

    public long Offset(int entry) => Frames.Take(entry).Sum(f => (long)f);

    /// <summary>Entries whose chunk <paramref name="seed"/> does not have (each id once): what a device holding it fetches.</summary>
    public IReadOnlyList<int> MissingFrom(ChunkedLayer? seed)
    {
        var had = seed?.Entries.Select(e => e.Id).ToHashSet() ?? [];
        var planned = new HashSet<ChunkId>();
        return Enumerable.Range(0, Entries.Count).Where(k => !had.Contains(Entries[k].Id) && planned.Add(Entries[k].Id)).ToList();
    }

    public long MissingBytes(ChunkedLayer? seed) => MissingFrom(seed).Sum(k => (long)Frames[k]);

    public static async Task<ChunkedLayer> BuildAsync(byte[] tar)
    {
        using var contents = new MemoryStream();
        using var headers = new MemoryStream();
        await TarSplit.SplitAsync(new MemoryStream(tar), contents, headers);
        string storeRoot = Directory.CreateTempSubdirectory("pipeline-chunk-server-").FullName;
        try
        {
            var store = new ChunkStore(storeRoot);
            using var index = new MemoryStream();
            await BlobIndexer.IndexAsync(new MemoryStream(contents.ToArray()), store, index, ChunkSizes.Default);
            var parsed = await CaibxReader.ReadAsync(new MemoryStream(index.ToArray()));
            using var pack = new MemoryStream();
            var frames = new List<int>();
            foreach (var entry in parsed.Entries)
            {
                var frame = await File.ReadAllBytesAsync(store.PathOf(entry.Id));
                pack.Write(frame);
                frames.Add(frame.Length);
            }
            return new ChunkedLayer(tar, Gzip(tar), contents.ToArray(), headers.ToArray(), index.ToArray(), parsed, pack.ToArray(), frames.ToArray());
        }
        finally
        {
            Directory.Delete(storeRoot, recursive: true);
        }
    }

    /// <summary>
    /// Registers the layer's files with the fake and offers the delta in its plans. The optional
    /// replacements stand in for a server whose index or headers are wrong but carry their own
    /// (matching) digests.
    /// </summary>
    public ServedDelta Serve(FakeDeviceApi api, ChunkedLayer? seed, byte[]? headersRaw = null, byte[]? index = null, byte[]? pack = null, byte[]? packTable = null)
    {
        api.MediaTypes[Digest] = GzipLayer;
        byte[] headersFrame;
        using (var codec = new ChunkCodec())
        {
            headersFrame = codec.Compress(headersRaw ?? HeadersRaw);
        }
        var served = new ServedDelta(
            api.Blobs.Add(index ?? Index),
            api.Blobs.Add(headersFrame),
            api.Blobs.Add(pack ?? Pack),
            api.Blobs.Add(packTable ?? PackTable));
        long estimate = (index ?? Index).Length + headersFrame.Length + (packTable ?? PackTable).Length + MissingBytes(seed);
        JsonObject File(string digest) => new() { ["digest"] = digest, ["size"] = api.Blobs.Bytes(digest).Length, ["url"] = api.Url(digest) };
        api.Chunks[Digest] = new JsonObject
        {
            ["diff_id"] = DiffId,
            ["tar_size"] = Tar.Length,
            ["index"] = File(served.Index),
            ["headers"] = File(served.Headers),
            ["pack"] = new JsonObject { ["size"] = api.Blobs.Bytes(served.Pack).Length, ["url"] = api.Url(served.Pack) },
            ["pack_table"] = File(served.PackTable),
            ["bytes_to_download"] = estimate,
        };
        return served;
    }

    public static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static byte[] Gzip(byte[] tar)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(tar);
        }
        return output.ToArray();
    }
}

/// <summary>Digests of a delta's files as the fake serves them; what a device pulled is <see cref="FakeBlobs.SentBytes"/> of these.</summary>
internal sealed record ServedDelta(string Index, string Headers, string Pack, string PackTable)
{
    public long SentBytes(FakeBlobs blobs) => new[] { Index, Headers, Pack, PackTable }.Sum(blobs.SentBytes);
}

/// <summary>
/// Reproducible layer tars written with <see cref="TarWriter"/> (ustar): <c>files</c> regular files
/// of 2,000 to 8,000 random bytes in 20 directories. A file's bytes depend on its number and
/// <c>edit</c>(number); every entry has the given mtime.
/// </summary>
internal static class LayerTars
{
    public static byte[] Create(int files, Func<int, int> edit, DateTimeOffset mtime)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            for (int d = 0; d < 20; d++)
            {
                writer.WriteEntry(new UstarTarEntry(TarEntryType.Directory, $"app/d{d:D2}/") { ModificationTime = mtime, Mode = (UnixFileMode)0b111_101_101 });
                for (int i = d; i < files; i += 20)
                {
                    var random = new Random((i * 7919) + (edit(i) * 104_729));
                    var data = new byte[2000 + (i * 3001 % 6000)];
                    random.NextBytes(data);
                    writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, $"app/d{d:D2}/f{i:D4}.bin")
                    {
                        ModificationTime = mtime,
                        Mode = (UnixFileMode)0b110_100_100,
                        DataStream = new MemoryStream(data),
                    });
                }
            }
        }
        return output.ToArray();
    }
}
