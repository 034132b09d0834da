using System.Security.Cryptography;

namespace DeviceAgent.Store;

/// <summary>
/// The agent's store under <c>--store DIR</c>: <c>blobs/sha256/&lt;hex&gt;</c> holds complete,
/// verified blobs only, each named after the sha256 of its bytes; <c>partial/&lt;hex&gt;</c> holds
/// downloads in progress; <c>instances/</c> belongs to <see cref="InstanceStore"/>; <c>layers/</c>
/// and <c>chunks/</c> to <see cref="LayerStore"/> (layers that came as chunks, held as their
/// rebuilt tar, and the seeds). A layer is held when either its blob or its tar is there. One agent
/// at a time: <c>agent.lock</c> is held (an OS file lock, released even when the agent is killed).
/// </summary>
internal sealed class ContentStore : IDisposable
{
    private readonly FileStream _lock;

    private ContentStore(string root, FileStream lockFile)
    {
        Root = root;
        _lock = lockFile;
        Layers = new LayerStore(root, PartialDirectory);
    }

    public string Root { get; }

    public LayerStore Layers { get; }

    public string BlobsDirectory => Path.Combine(Root, "blobs", "sha256");

    public string PartialDirectory => Path.Combine(Root, "partial");

    public string InstancesDirectory => Path.Combine(Root, "instances");

    /// <summary>Opens (creating) the store at <paramref name="root"/>; fails when another agent holds it.</summary>
    public static ContentStore Open(string root)
    {
        root = Path.GetFullPath(root);
        Directory.CreateDirectory(Path.Combine(root, "blobs", "sha256"));
        Directory.CreateDirectory(Path.Combine(root, "partial"));
        Directory.CreateDirectory(Path.Combine(root, "instances"));
        Directory.CreateDirectory(Path.Combine(root, "layers", "sha256"));
        Directory.CreateDirectory(Path.Combine(root, "chunks"));
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(root, "agent.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (!DiskSpace.IsDiskFull(e))
        {
            throw new IOException($"Another agent is using the store {root} (agent.lock is held).", e);
        }
        return new ContentStore(root, lockFile);
    }

    public string BlobPath(BlobDigest digest) => Path.Combine(BlobsDirectory, digest.Hex);

    public string PartialPath(BlobDigest digest) => Path.Combine(PartialDirectory, digest.Hex);

    /// <summary>True when the blob is held: compressed in <c>blobs/</c>, or (a layer) as its rebuilt tar.</summary>
    public bool Has(BlobDigest digest) => File.Exists(BlobPath(digest)) || Layers.HasTar(digest);

    /// <summary>Bytes already downloaded of <paramref name="digest"/> (0 without a partial).</summary>
    public long PartialLength(BlobDigest digest)
    {
        var info = new FileInfo(PartialPath(digest));
        return info.Exists ? info.Length : 0;
    }

    /// <summary>Every blob in the store, layers held as tars included: what a plan request says the device has.</summary>
    public IReadOnlyList<BlobDigest> List()
    {
        var digests = new HashSet<BlobDigest>();
        foreach (string file in Directory.EnumerateFiles(BlobsDirectory))
        {
            if (BlobDigest.TryFromFileName(Path.GetFileName(file), out var digest))
            {
                digests.Add(digest.Value);
            }
        }
        digests.UnionWith(Layers.Tars());
        var sorted = digests.ToList();
        sorted.Sort((a, b) => string.CompareOrdinal(a.Hex, b.Hex));
        return sorted;
    }

    /// <summary>
    /// Hashes every blob and deletes each whose bytes do not match its name (a damaged flash
    /// page, a tampered file) and anything in <c>blobs/sha256/</c> that is not a blob at all, so
    /// the next plan lists it again. Returns what was removed and why.
    /// </summary>
    public async Task<IReadOnlyList<string>> VerifyAllAsync(CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        foreach (string file in Directory.EnumerateFiles(BlobsDirectory).ToList())
        {
            string name = Path.GetFileName(file);
            if (!BlobDigest.TryFromFileName(name, out var digest))
            {
                File.Delete(file);
                removed.Add($"{name}: not a blob name");
                continue;
            }
            var actual = await HashFileAsync(file, cancellationToken).ConfigureAwait(false);
            if (actual != digest)
            {
                File.Delete(file);
                removed.Add($"{digest}: its bytes hash to {actual}");
            }
        }
        removed.AddRange(await Layers.VerifyAllAsync(cancellationToken).ConfigureAwait(false));
        return removed;
    }

    /// <summary>
    /// Deletes every blob and layer folder not in <paramref name="keepBlobs"/>, every partial (and
    /// chunk delta in progress) not in <paramref name="keepPartials"/>, then every seed chunk no
    /// remaining layer needs. Returns the bytes freed.
    /// </summary>
    public long CollectGarbage(IReadOnlySet<BlobDigest> keepBlobs, IReadOnlySet<BlobDigest> keepPartials)
    {
        long freed = 0;
        freed += DeleteExcept(BlobsDirectory, keepBlobs);
        freed += DeleteExcept(PartialDirectory, keepPartials);
        freed += Layers.CollectGarbage(keepBlobs, keepPartials);
        return freed;
    }

    public static async Task<BlobDigest> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: false);
        return BlobDigest.FromHash(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    public void Dispose() => _lock.Dispose();

    private static long DeleteExcept(string directory, IReadOnlySet<BlobDigest> keep)
    {
        long freed = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles())
        {
            if (BlobDigest.TryFromFileName(file.Name, out var digest) && keep.Contains(digest.Value))
            {
                continue;
            }
            // A file held open by a download of this very round (a lock) is not garbage yet.
            freed += TryDelete(file);
        }
        return freed;
    }

    /// <summary>Deletes a file of the store's garbage and returns its length; 0 when it is in use (the next collection takes it).</summary>
    internal static long TryDelete(FileInfo file)
    {
        try
        {
            long length = file.Length;
            file.Delete();
            return length;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
