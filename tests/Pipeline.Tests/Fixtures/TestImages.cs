using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Oci;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// Builds test images without Docker and pushes them to a registry, independently of the
/// project's own code: <c>umoci</c> makes the layers, configs and manifests in an OCI layout,
/// this class writes the multi-arch index, and <c>skopeo</c> pushes. Each build runs in its own
/// temp folder, deleted afterwards.
/// </summary>
/// <remarks>
/// File modification times and history timestamps are fixed, so an image built only from
/// deterministic content (text, bytes, seeded, filled) has the same digests on every run.
/// </remarks>
public static class TestImages
{
    public const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
    public const string IndexMediaType = "application/vnd.oci.image.index.v1+json";

    private const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    private const string IndexRef = "index";
    private const string FixedTimestamp = "2000-01-01T00:00:00Z";
    private static readonly DateTime FixedTime = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Builds an image with one manifest per entry of <paramref name="archs"/> and pushes it to
    /// <c>registryHost/repository:tag</c> over plain HTTP. With more than one arch (or
    /// <paramref name="forceIndex"/>) the tag points to an OCI image index listing each manifest
    /// with its platform; otherwise to the single manifest.
    /// </summary>
    /// <param name="registryHost"><c>host:port</c>, e.g. <see cref="RegistryFixture.Host"/>.</param>
    /// <param name="credentials">Basic credentials for the push, for a registry with auth.</param>
    public static async Task<PushedImage> BuildAndPushAsync(
        string registryHost,
        string repository,
        string tag,
        IReadOnlyList<ArchSpec> archs,
        RegistryAuth? credentials = null,
        bool forceIndex = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(registryHost);
        ArgumentException.ThrowIfNullOrEmpty(repository);
        ArgumentException.ThrowIfNullOrEmpty(tag);
        if (archs.Count == 0)
        {
            throw new ArgumentException("At least one arch is needed.", nameof(archs));
        }

        var work = Directory.CreateTempSubdirectory("pipeline-testimage-").FullName;
        try
        {
            var layout = Path.Combine(work, "oci");
            await Umoci(cancellationToken, "init", "--layout", layout);

            var manifests = new List<PushedManifest>(archs.Count);
            for (int i = 0; i < archs.Count; i++)
            {
                manifests.Add(await BuildArchAsync(work, layout, $"arch{i}", archs[i], cancellationToken));
            }

            Digest? indexDigest = null;
            byte[]? indexBytes = null;
            string sourceRef;
            if (archs.Count > 1 || forceIndex)
            {
                indexBytes = IndexDocument(manifests);
                indexDigest = Digest.Compute(indexBytes);
                await WriteBlobAsync(layout, indexBytes, cancellationToken);
                await UpdateLayoutIndexAsync(layout, IndexRef, IndexMediaType, indexDigest.Value, indexBytes.Length, cancellationToken);
                sourceRef = IndexRef;
            }
            else
            {
                sourceRef = "arch0";
            }

            await PushAsync(work, $"oci:{layout}:{sourceRef}", $"docker://{registryHost}/{repository}:{tag}", credentials, all: indexBytes is not null, cancellationToken);
            return new PushedImage(registryHost, repository, tag, indexDigest, indexBytes, manifests);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>Shorthand: amd64 + arm64 images with one small text layer each, pushed as an index.</summary>
    public static Task<PushedImage> PushTwoArchAsync(string registryHost, string repository, string tag = "1", RegistryAuth? credentials = null, CancellationToken cancellationToken = default) =>
        BuildAndPushAsync(
            registryHost,
            repository,
            tag,
            [
                ArchSpec.Amd64(LayerSpec.Text("app/hello.txt", "hello amd64\n")),
                ArchSpec.Arm64(LayerSpec.Text("app/hello.txt", "hello arm64\n")),
            ],
            credentials,
            cancellationToken: cancellationToken);

    private static async Task<PushedManifest> BuildArchAsync(string work, string layout, string refName, ArchSpec arch, CancellationToken cancellationToken)
    {
        var image = $"{layout}:{refName}";
        await Umoci(cancellationToken, "new", "--image", image);
        for (int j = 0; j < arch.Layers.Count; j++)
        {
            var layer = arch.Layers[j];
            var dir = Path.Combine(work, "layers", $"{refName}-{j}");
            Directory.CreateDirectory(dir);
            foreach (var file in layer.Files)
            {
                await file.WriteToAsync(Path.Combine(dir, file.Path), cancellationToken);
            }
            FixTimes(dir);
            await Umoci(
                cancellationToken,
                "insert", "--image", image,
                "--history.created", FixedTimestamp, "--history.created_by", $"test layer {j}",
                dir, layer.Target);
        }

        var configArgs = new List<string>
        {
            "config", "--image", image, "--no-history",
            "--architecture", arch.Architecture, "--os", arch.Os, "--created", FixedTimestamp,
        };
        foreach (var part in arch.Cmd ?? [])
        {
            configArgs.AddRange(["--config.cmd", part]);
        }
        await ProcessRunner.RunAsync("umoci", configArgs, timeout: ToolTimeout, cancellationToken: cancellationToken);

        if (arch.Variant is not null)
        {
            await SetVariantAsync(layout, refName, arch.Variant, cancellationToken);
        }
        return await ReadManifestAsync(layout, refName, arch, cancellationToken);
    }

    /// <summary>umoci has no variant option: rewrite the config with one, then the manifest and index.json entry.</summary>
    private static async Task SetVariantAsync(string layout, string refName, string variant, CancellationToken cancellationToken)
    {
        var (entry, manifestBytes) = await FindManifestAsync(layout, refName, cancellationToken);
        var manifest = JsonNode.Parse(manifestBytes)!.AsObject();
        var configDescriptor = manifest["config"]!.AsObject();
        var config = JsonNode.Parse(await ReadBlobAsync(layout, Digest.Parse((string?)configDescriptor["digest"]), cancellationToken))!.AsObject();
        config["variant"] = variant;
        var newConfig = Encoding.UTF8.GetBytes(config.ToJsonString());
        await WriteBlobAsync(layout, newConfig, cancellationToken);
        configDescriptor["digest"] = Digest.Compute(newConfig).ToString();
        configDescriptor["size"] = newConfig.Length;
        var newManifest = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        await WriteBlobAsync(layout, newManifest, cancellationToken);
        var mediaType = (string?)entry["mediaType"] ?? ManifestMediaType;
        await UpdateLayoutIndexAsync(layout, refName, mediaType, Digest.Compute(newManifest), newManifest.Length, cancellationToken);
    }

    private static async Task<PushedManifest> ReadManifestAsync(string layout, string refName, ArchSpec arch, CancellationToken cancellationToken)
    {
        var (entry, manifestBytes) = await FindManifestAsync(layout, refName, cancellationToken);
        using var manifest = JsonDocument.Parse(manifestBytes);
        var config = manifest.RootElement.GetProperty("config");
        var configDigest = Digest.Parse(config.GetProperty("digest").GetString());
        var configBytes = await ReadBlobAsync(layout, configDigest, cancellationToken);
        var layers = manifest.RootElement.GetProperty("layers").EnumerateArray()
            .Select(l => new PushedLayer(
                Digest.Parse(l.GetProperty("digest").GetString()),
                l.GetProperty("size").GetInt64(),
                l.GetProperty("mediaType").GetString()!))
            .ToList();
        return new PushedManifest(
            arch.Architecture,
            arch.Os,
            arch.Variant,
            Digest.Parse((string?)entry["digest"]),
            (long)entry["size"]!,
            (string?)entry["mediaType"] ?? ManifestMediaType,
            manifestBytes,
            configDigest,
            config.GetProperty("size").GetInt64(),
            config.GetProperty("mediaType").GetString()!,
            configBytes,
            layers);
    }

    private static byte[] IndexDocument(IReadOnlyList<PushedManifest> manifests)
    {
        var entries = new JsonArray();
        foreach (var m in manifests)
        {
            var platform = new JsonObject { ["architecture"] = m.Architecture, ["os"] = m.Os };
            if (m.Variant is not null)
            {
                platform["variant"] = m.Variant;
            }
            entries.Add(new JsonObject
            {
                ["mediaType"] = m.ManifestMediaType,
                ["digest"] = m.ManifestDigest.ToString(),
                ["size"] = m.ManifestSize,
                ["platform"] = platform,
            });
        }
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = IndexMediaType,
            ["manifests"] = entries,
        };
        return Encoding.UTF8.GetBytes(index.ToJsonString());
    }

    private static async Task<(JsonObject Entry, byte[] Manifest)> FindManifestAsync(string layout, string refName, CancellationToken cancellationToken)
    {
        var index = await ReadLayoutIndexAsync(layout, cancellationToken);
        var entry = index["manifests"]!.AsArray()
            .Select(e => e!.AsObject())
            .Single(e => (string?)e["annotations"]?[RefNameAnnotation] == refName);
        var bytes = await ReadBlobAsync(layout, Digest.Parse((string?)entry["digest"]), cancellationToken);
        return (entry, bytes);
    }

    private static async Task UpdateLayoutIndexAsync(string layout, string refName, string mediaType, Digest digest, long size, CancellationToken cancellationToken)
    {
        var index = await ReadLayoutIndexAsync(layout, cancellationToken);
        var manifests = index["manifests"]!.AsArray();
        var existing = manifests.FirstOrDefault(e => (string?)e?["annotations"]?[RefNameAnnotation] == refName);
        if (existing is not null)
        {
            manifests.Remove(existing);
        }
        manifests.Add(new JsonObject
        {
            ["mediaType"] = mediaType,
            ["digest"] = digest.ToString(),
            ["size"] = size,
            ["annotations"] = new JsonObject { [RefNameAnnotation] = refName },
        });
        await File.WriteAllTextAsync(Path.Combine(layout, "index.json"), index.ToJsonString(), cancellationToken);
    }

    private static async Task<JsonObject> ReadLayoutIndexAsync(string layout, CancellationToken cancellationToken) =>
        JsonNode.Parse(await File.ReadAllBytesAsync(Path.Combine(layout, "index.json"), cancellationToken))!.AsObject();

    private static Task<byte[]> ReadBlobAsync(string layout, Digest digest, CancellationToken cancellationToken) =>
        File.ReadAllBytesAsync(BlobPath(layout, digest), cancellationToken);

    private static Task WriteBlobAsync(string layout, byte[] content, CancellationToken cancellationToken) =>
        File.WriteAllBytesAsync(BlobPath(layout, Digest.Compute(content)), content, cancellationToken);

    private static string BlobPath(string layout, Digest digest) => Path.Combine(layout, "blobs", "sha256", digest.Hex);

    private static async Task PushAsync(string work, string source, string destination, RegistryAuth? credentials, bool all, CancellationToken cancellationToken)
    {
        var args = new List<string> { "--insecure-policy", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false" };
        if (all)
        {
            args.Add("--all");
        }
        if (credentials is not null)
        {
            // An auth file keeps the password off the command line (and out of error messages).
            var authFile = Path.Combine(work, "auth.json");
            var registry = destination["docker://".Length..].Split('/')[0];
            var auth = new JsonObject
            {
                ["auths"] = new JsonObject
                {
                    [registry] = new JsonObject
                    {
                        ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.User}:{credentials.Password}")),
                    },
                },
            };
            await File.WriteAllTextAsync(authFile, auth.ToJsonString(), cancellationToken);
            args.AddRange(["--dest-authfile", authFile]);
        }
        else
        {
            args.Add("--dest-no-creds");
        }
        args.AddRange([source, destination]);
        await ProcessRunner.RunAsync("skopeo", args, timeout: ToolTimeout, cancellationToken: cancellationToken);
    }

    private static Task<ProcessResult> Umoci(CancellationToken cancellationToken, params string[] args) =>
        ProcessRunner.RunAsync("umoci", args, timeout: ToolTimeout, cancellationToken: cancellationToken);

    private static void FixTimes(string dir)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(path, FixedTime);
        }
        Directory.SetLastWriteTimeUtc(dir, FixedTime);
    }
}
