using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace DeviceAgent.Store;

/// <summary>
/// Installed versions under <c>instances/&lt;instance_id&gt;/</c>: <c>versions/&lt;N&gt;/</c> holds
/// <c>manifest.json</c>, <c>config.json</c> (the config blob's bytes), <c>lxc.env</c>,
/// <c>network.json</c> and <c>config_map.json</c>; <c>current</c> is a symlink to the running
/// version and <c>previous</c> to the one before it (kept for a rollback). A version folder is
/// written under a staging name and renamed into place, and <c>current</c> is switched by renaming
/// a new symlink over it, so a crash leaves either the old or the new version current, never half.
/// </summary>
internal sealed class InstanceStore(ContentStore store)
{
    private const string Current = "current";
    private const string Previous = "previous";

    /// <summary>Ids become folder names: letters, digits, <c>. _ -</c>; never <c>.</c> or <c>..</c>.</summary>
    public static bool IsSafeId(string id) =>
        id.Length is > 0 and <= 200 && id is not "." and not ".."
        && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    public string VersionDirectory(string instanceId, int version) =>
        Path.Combine(InstanceDirectory(instanceId), "versions", version.ToString(CultureInfo.InvariantCulture));

    public int? CurrentVersion(string instanceId) => LinkedVersion(Path.Combine(InstanceDirectory(instanceId), Current));

    public int? PreviousVersion(string instanceId) => LinkedVersion(Path.Combine(InstanceDirectory(instanceId), Previous));

    public IReadOnlyList<string> InstanceIds() =>
        Directory.EnumerateDirectories(store.InstancesDirectory).Select(Path.GetFileName).OfType<string>().Where(IsSafeId).ToList();

    public VersionManifest? ReadManifest(string instanceId, int version)
    {
        string path = Path.Combine(VersionDirectory(instanceId, version), "manifest.json");
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), AgentJsonContext.Default.VersionManifest) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>True when the version's folder is whole and every blob it needs is in the store.</summary>
    public bool IsComplete(string instanceId, int version)
    {
        var manifest = ReadManifest(instanceId, version);
        string dir = VersionDirectory(instanceId, version);
        return manifest is not null && manifest.ContainerVersion == version
            && new[] { "config.json", "lxc.env", "network.json", "config_map.json" }.All(f => File.Exists(Path.Combine(dir, f)))
            && manifest.BlobDigests.All(d => BlobDigest.TryParse(d, out var digest) && store.Has(digest.Value));
    }

    /// <summary>Writes the version's folder (replacing one of the same number) from the store's verified blobs.</summary>
    public void Install(string instanceId, VersionFiles files)
    {
        int version = files.Manifest.ContainerVersion;
        string versions = Path.Combine(InstanceDirectory(instanceId), "versions");
        Directory.CreateDirectory(versions);
        string staging = Path.Combine(versions, $".staging-{version}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        File.Copy(store.BlobPath(BlobDigest.Parse(files.Manifest.Config.Digest)), Path.Combine(staging, "config.json"));
        File.WriteAllBytes(Path.Combine(staging, "lxc.env"), files.Env);
        File.WriteAllBytes(Path.Combine(staging, "network.json"), JsonSerializer.SerializeToUtf8Bytes(files.Network, AgentJsonContext.Default.PlanNetwork));
        File.WriteAllText(Path.Combine(staging, "config_map.json"), files.ConfigMap is { } map ? map.GetRawText() : "null");
        // The manifest last: a folder with a manifest was written whole.
        File.WriteAllBytes(Path.Combine(staging, "manifest.json"), JsonSerializer.SerializeToUtf8Bytes(files.Manifest, AgentJsonContext.Default.VersionManifest));

        string target = VersionDirectory(instanceId, version);
        string? old = null;
        if (Directory.Exists(target))
        {
            old = Path.Combine(versions, $".old-{version}-{Guid.NewGuid():N}");
            Directory.Move(target, old);
        }
        Directory.Move(staging, target);
        if (old is not null)
        {
            Directory.Delete(old, recursive: true);
        }
    }

    /// <summary>
    /// Makes <paramref name="version"/> current; the version it replaces becomes <c>previous</c>.
    /// Then deletes every other version folder of the instance.
    /// </summary>
    public void Activate(string instanceId, int version)
    {
        string dir = InstanceDirectory(instanceId);
        int? current = CurrentVersion(instanceId);
        if (current is { } c && c != version)
        {
            SwitchLink(dir, Previous, c);
        }
        SwitchLink(dir, Current, version);
        Prune(instanceId);
    }

    /// <summary>Deletes version folders other than current and previous, and leftovers of interrupted installs.</summary>
    public void Prune(string instanceId)
    {
        string versions = Path.Combine(InstanceDirectory(instanceId), "versions");
        if (!Directory.Exists(versions))
        {
            return;
        }
        var keep = new[] { CurrentVersion(instanceId), PreviousVersion(instanceId) }
            .OfType<int>().Select(v => v.ToString(CultureInfo.InvariantCulture)).ToHashSet(StringComparer.Ordinal);
        foreach (string folder in Directory.EnumerateDirectories(versions).ToList())
        {
            if (!keep.Contains(Path.GetFileName(folder)))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>Every blob a kept version (current or previous, of any instance) needs.</summary>
    public IEnumerable<BlobDigest> KeptDigests()
    {
        foreach (string id in InstanceIds())
        {
            foreach (int version in new[] { CurrentVersion(id), PreviousVersion(id) }.OfType<int>())
            {
                foreach (string digest in ReadManifest(id, version)?.BlobDigests ?? [])
                {
                    if (BlobDigest.TryParse(digest, out var d))
                    {
                        yield return d.Value;
                    }
                }
            }
        }
    }

    /// <summary>Removes an instance the target no longer lists.</summary>
    public void Remove(string instanceId) => Directory.Delete(InstanceDirectory(instanceId), recursive: true);

    private string InstanceDirectory(string instanceId) =>
        IsSafeId(instanceId) ? Path.Combine(store.InstancesDirectory, instanceId) : throw new ArgumentException($"'{instanceId}' cannot be a folder name.", nameof(instanceId));

    private static int? LinkedVersion(string link)
    {
        string? target = new FileInfo(link).LinkTarget;
        return target is not null && int.TryParse(Path.GetFileName(target), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : null;
    }

    /// <summary>Points <paramref name="name"/> at <c>versions/N</c> atomically: a new link, renamed over the old one.</summary>
    private static void SwitchLink(string dir, string name, int version)
    {
        string temporary = Path.Combine(dir, name + ".tmp");
        if (new FileInfo(temporary).LinkTarget is not null || File.Exists(temporary))
        {
            File.Delete(temporary);
        }
        File.CreateSymbolicLink(temporary, "versions/" + version.ToString(CultureInfo.InvariantCulture));
        // rename(2) replaces the old link in one step; File.Move does not promise that for links.
        if (rename(temporary, Path.Combine(dir, name)) != 0)
        {
            throw new IOException($"Could not switch {Path.Combine(dir, name)} to version {version}: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int rename(string oldPath, string newPath);
}
