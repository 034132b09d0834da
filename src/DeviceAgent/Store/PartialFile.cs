using System.Security.Cryptography;

namespace DeviceAgent.Store;

/// <summary>
/// A download in progress: <c>partial/&lt;hex&gt;</c>, whose length is where a resume starts. The
/// bytes are hashed as they are appended (and, when an earlier process left some, read and hashed
/// once on open), so verifying at the end costs nothing. Appends go straight to the OS (no user
/// buffer) and are flushed to the disk every <see cref="FlushEveryBytes"/>: a killed agent or a
/// power cut loses less than 1 MiB. Only <see cref="Commit"/> puts a blob under its digest, and
/// only when size and sha256 match.
/// </summary>
internal sealed class PartialFile : IDisposable
{
    public const int FlushEveryBytes = 256 * 1024;
    private const int ReadBufferBytes = 64 * 1024;

    private readonly string _path;
    private readonly FileStream _file;
    private IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _unflushed;

    private PartialFile(string path, FileStream file)
    {
        _path = path;
        _file = file;
    }

    /// <summary>Bytes in the file, all of them hashed: the offset the next request starts at.</summary>
    public long Length { get; private set; }

    /// <summary>Bytes appended by this process (what the link carried, restarts included).</summary>
    public long Appended { get; private set; }

    /// <summary>
    /// Opens (or creates) the partial of a blob of <paramref name="size"/> bytes. A partial longer
    /// than the blob cannot be a prefix of it and is emptied.
    /// </summary>
    public static PartialFile Open(string path, long size)
    {
        // FileShare.None takes an exclusive lock: two agents never append to one partial.
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        var partial = new PartialFile(path, file);
        try
        {
            if (file.Length > size)
            {
                file.SetLength(0);
            }
            partial.HashExisting();
            return partial;
        }
        catch
        {
            partial.Dispose();
            throw;
        }
    }

    /// <summary>Writes and hashes <paramref name="bytes"/> at the end; a full disk is a <see cref="DiskFullException"/>.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _file.Write(bytes);
            _unflushed += bytes.Length;
            if (_unflushed >= FlushEveryBytes)
            {
                _file.Flush(flushToDisk: true);
                _unflushed = 0;
            }
        }
        catch (IOException e) when (DiskSpace.IsDiskFull(e))
        {
            throw new DiskFullException($"not enough disk space: the disk filled up at {DiskSpace.Format(Length)} of a download ({e.Message})", e);
        }
        _hash.AppendData(bytes);
        Length += bytes.Length;
        Appended += bytes.Length;
    }

    /// <summary>Empties the partial: the server could not continue where it ended, so start over (never splice).</summary>
    public void Reset()
    {
        _file.SetLength(0);
        _file.Position = 0;
        _hash.Dispose();
        _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Length = 0;
        _unflushed = 0;
    }

    /// <summary>
    /// When the bytes are exactly <paramref name="digest"/> and <paramref name="size"/>, moves the
    /// partial to <paramref name="finalPath"/> (a rename: the blob appears whole or not at all) and
    /// returns true. Otherwise deletes the partial and returns false: those bytes are no good.
    /// </summary>
    public bool Commit(BlobDigest digest, long size, string finalPath)
    {
        var actual = BlobDigest.FromHash(_hash.GetCurrentHash());
        bool good = Length == size && actual == digest;
        if (good)
        {
            _file.Flush(flushToDisk: true);
        }
        Dispose();
        if (!good)
        {
            File.Delete(_path);
            return false;
        }
        File.Move(_path, finalPath, overwrite: true);
        return true;
    }

    /// <summary>Deletes the partial (a full disk: the running version needs the room more).</summary>
    public void Delete()
    {
        Dispose();
        File.Delete(_path);
    }

    public void Dispose()
    {
        _file.Dispose();
        _hash.Dispose();
    }

    private void HashExisting()
    {
        _file.Position = 0;
        var buffer = new byte[ReadBufferBytes];
        int n;
        while ((n = _file.Read(buffer)) > 0)
        {
            _hash.AppendData(buffer.AsSpan(0, n));
            Length += n;
        }
    }
}
