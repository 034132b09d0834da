using System.Text.Json;
using Pipeline.Chunking;

namespace DeviceAgent.Store;

/// <summary>
/// The chunk side of the store. <c>layers/sha256/&lt;hex&gt;/</c>, named after the compressed
/// layer digest the plan uses, describes one layer the device holds: <c>index.caibx</c> (the
/// casync index of the tar's contents stream), <c>headers.tarsplit.zst</c> (its tar-split headers,
/// one zstd frame), <c>layer.json</c> (<see cref="LayerInfo"/>, written last) and, for a layer
/// that came as chunks, <c>layer.tar</c>: the rebuilt, verified, uncompressed tar. <c>chunks/</c>
/// is a casync store (<c>&lt;4 hex&gt;/&lt;id&gt;.cacnk</c>) holding the chunks of every indexed
/// layer: the seeds the next delta is computed against. A chunk delta in progress lives in
/// <c>partial/&lt;hex&gt;.chunks/</c> and becomes the layer's folder with one rename.
/// </summary>
internal sealed class LayerStore
{
    public const string TarName = "layer.tar";
    public const string IndexName = "index.caibx";
    public const string HeadersName = "headers.tarsplit.zst";
    public const string InfoName = "layer.json";
    private const string WorkSuffix = ".chunks";

    private readonly string _partialDirectory;

    public LayerStore(string root, string partialDirectory)
    {
        LayersDirectory = Path.Combine(root, "layers", "sha256");
        Directory.CreateDirectory(LayersDirectory);
        Seeds = new ChunkStore(Path.Combine(root, "chunks"));
        Directory.CreateDirectory(Seeds.Root);
        _partialDirectory = partialDirectory;
    }

    public string LayersDirectory { get; }

    /// <summary>The chunks of every indexed layer.</summary>
    public ChunkStore Seeds { get; }

    public string LayerDirectory(BlobDigest digest) => Path.Combine(LayersDirectory, digest.Hex);

    /// <summary>Where a layer that came as chunks is: its uncompressed tar, whose sha256 is its <c>diff_id</c>.</summary>
    public string TarPath(BlobDigest digest) => Path.Combine(LayerDirectory(digest), TarName);

    public bool HasTar(BlobDigest digest) => File.Exists(TarPath(digest)) && File.Exists(Path.Combine(LayerDirectory(digest), InfoName));

    /// <summary>True when the layer's chunks are in the seeds (its folder is complete).</summary>
    public bool IsIndexed(BlobDigest digest) => File.Exists(Path.Combine(LayerDirectory(digest), InfoName));

    /// <summary>The folder of a chunk delta in progress (index, headers, pack table, the tar being rebuilt).</summary>
    public string WorkDirectory(BlobDigest digest) => Path.Combine(_partialDirectory, digest.Hex + WorkSuffix);

    /// <summary>A new staging folder inside <c>layers/sha256/</c>, renamed into place by <see cref="Commit"/>.</summary>
    public string NewStaging(BlobDigest digest)
    {
        string staging = Path.Combine(LayersDirectory, $".staging-{digest.Hex}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        return staging;
    }

    /// <summary>Layers held as their rebuilt tar.</summary>
    public IEnumerable<BlobDigest> Tars() =>
        Directory.EnumerateDirectories(LayersDirectory)
            .Select(d => BlobDigest.TryFromFileName(Path.GetFileName(d), out var digest) ? digest : null)
            .OfType<BlobDigest>()
            .Where(HasTar);

    public LayerInfo? ReadInfo(BlobDigest digest)
    {
        string path = Path.Combine(LayerDirectory(digest), InfoName);
        try
        {
            var info = File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), AgentJsonContext.Default.LayerInfo) : null;
            return info is not null && info.Digest == digest.ToString() && BlobDigest.TryParse(info.DiffId, out _) ? info : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes <c>layer.json</c> into <paramref name="folder"/> (last: a folder with it is whole) and
    /// renames the folder to the layer's place, replacing an older one.
    /// </summary>
    public void Commit(BlobDigest digest, string folder, LayerInfo info)
    {
        using (var file = new FileStream(Path.Combine(folder, InfoName), FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(file, info, AgentJsonContext.Default.LayerInfo);
            file.Flush(flushToDisk: true);
        }
        string target = LayerDirectory(digest);
        if (Directory.Exists(target))
        {
            string old = Path.Combine(LayersDirectory, $".old-{digest.Hex}-{Guid.NewGuid():N}");
            Directory.Move(target, old);
            Directory.Delete(old, recursive: true);
        }
        Directory.Move(folder, target);
    }

    /// <summary>Deletes a folder of this store if it is there (a staging or work folder given up).</summary>
    public static void DeleteFolder(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// At start: removes leftovers of interrupted commits and every layer folder that is not whole,
    /// and hashes each <c>layer.tar</c>; one whose sha256 is not its <c>diff_id</c> is deleted with
    /// its folder, so the next plan lists the layer again. Chunks are verified when they are read.
    /// </summary>
    public async Task<IReadOnlyList<string>> VerifyAllAsync(CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        foreach (string folder in Directory.EnumerateDirectories(LayersDirectory).ToList())
        {
            string name = Path.GetFileName(folder);
            if (!BlobDigest.TryFromFileName(name, out var digest))
            {
                Directory.Delete(folder, recursive: true);
                continue;
            }
            var info = ReadInfo(digest.Value);
            if (info is null)
            {
                Directory.Delete(folder, recursive: true);
                removed.Add($"{digest} (layer folder): not whole");
                continue;
            }
            if (info.Held != LayerInfo.HeldAsTar)
            {
                continue;
            }
            string tar = TarPath(digest.Value);
            var actual = File.Exists(tar) ? await ContentStore.HashFileAsync(tar, cancellationToken).ConfigureAwait(false) : (BlobDigest?)null;
            if (actual?.ToString() != info.DiffId)
            {
                Directory.Delete(folder, recursive: true);
                removed.Add($"{digest}: its layer.tar hashes to {actual?.ToString() ?? "nothing (missing)"}, not the diff_id {info.DiffId}");
            }
        }
        return removed;
    }

    /// <summary>
    /// Deletes the layer folders not in <paramref name="keepLayers"/>, the chunk deltas in progress
    /// not in <paramref name="keepPartials"/>, then every chunk that no remaining index names.
    /// Returns the bytes freed.
    /// </summary>
    public long CollectGarbage(IReadOnlySet<BlobDigest> keepLayers, IReadOnlySet<BlobDigest> keepPartials)
    {
        long freed = 0;
        foreach (string folder in Directory.EnumerateDirectories(LayersDirectory).ToList())
        {
            string name = Path.GetFileName(folder);
            if (BlobDigest.TryFromFileName(name, out var digest) && keepLayers.Contains(digest.Value))
            {
                continue;
            }
            if (name.StartsWith(".staging-", StringComparison.Ordinal))
            {
                // An indexing of this very round may be writing it; the next start removes leftovers.
                continue;
            }
            freed += DeleteTree(folder);
        }
        var indexes = new List<string>();
        foreach (string folder in Directory.EnumerateDirectories(_partialDirectory, "*" + WorkSuffix).ToList())
        {
            string hex = Path.GetFileName(folder)[..^WorkSuffix.Length];
            if (BlobDigest.TryFromFileName(hex, out var digest) && keepPartials.Contains(digest.Value))
            {
                indexes.Add(Path.Combine(folder, IndexName));
                continue;
            }
            freed += DeleteTree(folder);
        }
        indexes.AddRange(Directory.EnumerateDirectories(LayersDirectory).Select(f => Path.Combine(f, IndexName)));
        return freed + CollectChunks(indexes);
    }

    /// <summary>Deletes every chunk the indexes do not name; does nothing when one of them cannot be read.</summary>
    private long CollectChunks(IEnumerable<string> indexes)
    {
        var referenced = new HashSet<ChunkId>();
        foreach (string path in indexes)
        {
            if (!File.Exists(path))
            {
                continue;
            }
            try
            {
                using var file = File.OpenRead(path);
                foreach (var entry in CaibxReader.ReadAsync(file).GetAwaiter().GetResult().Entries)
                {
                    referenced.Add(entry.Id);
                }
            }
            catch (Exception e) when (e is CaibxFormatException or IOException)
            {
                // Better to keep garbage one more round than to delete a chunk a layer needs.
                return 0;
            }
        }
        long freed = 0;
        foreach (var file in new DirectoryInfo(Seeds.Root).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            string name = file.Name;
            bool keep = name.EndsWith(".cacnk", StringComparison.Ordinal) && name.Length == 64 + 6
                && IsChunkId(name[..64], out var id) && referenced.Contains(id);
            if (!keep)
            {
                // A chunk being written right now stays for the next collection.
                freed += ContentStore.TryDelete(file);
            }
        }
        return freed;
    }

    private static bool IsChunkId(string hex, out ChunkId id)
    {
        id = default;
        if (!BlobDigest.TryFromFileName(hex, out _))
        {
            return false;
        }
        id = ChunkId.Parse(hex);
        return true;
    }

    private static long DeleteTree(string folder)
    {
        long length = new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        Directory.Delete(folder, recursive: true);
        return length;
    }
}
