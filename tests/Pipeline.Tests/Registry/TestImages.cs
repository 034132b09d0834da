using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Oci;

namespace Pipeline.Tests.Registry;

/// <summary>Builds small OCI/Docker images (config, layers, manifest, index) and pushes them into a <see cref="FakeRegistry"/>.</summary>
internal static class TestImages
{
    public static byte[] Config(string architecture, string? variant = null, string os = "linux")
    {
        var config = new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = os,
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray() },
        };
        if (variant is not null)
        {
            config["variant"] = variant;
        }
        return Json(config);
    }

    public static byte[] Manifest(Descriptor config, IEnumerable<Descriptor> layers, string mediaType = MediaTypes.OciManifest, bool withMediaType = true)
    {
        var manifest = new JsonObject { ["schemaVersion"] = 2 };
        if (withMediaType)
        {
            manifest["mediaType"] = mediaType;
        }
        manifest["config"] = Node(config);
        manifest["layers"] = new JsonArray([.. layers.Select(l => (JsonNode)Node(l))]);
        return Json(manifest);
    }

    public static byte[] Index(IEnumerable<Descriptor> manifests, string mediaType = MediaTypes.OciIndex)
    {
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = mediaType,
            ["manifests"] = new JsonArray([.. manifests.Select(m => (JsonNode)Node(m))]),
        };
        return Json(index);
    }

    public static JsonObject Node(Descriptor d)
    {
        var node = new JsonObject { ["mediaType"] = d.MediaType, ["digest"] = d.Digest.ToString(), ["size"] = d.Size };
        if (d.Platform is { } p)
        {
            node["platform"] = new JsonObject { ["architecture"] = p.Architecture, ["os"] = p.Os };
            if (p.Variant is not null)
            {
                node["platform"]!["variant"] = p.Variant;
            }
        }
        return node;
    }

    public static byte[] Json(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    public static byte[] Layer(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Pushes a one-layer image whose config says <paramref name="architecture"/>; returns its manifest descriptor with that platform.</summary>
    public static PushedImage PushImage(FakeRegistry registry, string repository, string architecture, string? variant = null, string? tag = null, string? configArchitecture = null)
    {
        var config = registry.PushConfig(repository, Config(configArchitecture ?? architecture, variant));
        var layer = registry.PutBlob(repository, Layer($"layer of {architecture}{variant} {Guid.NewGuid()}"));
        var manifest = registry.PutManifest(repository, tag, Manifest(config, [layer]), MediaTypes.OciManifest);
        return new PushedImage(manifest with { Platform = new Platform("linux", architecture, variant) }, config, [layer]);
    }

    /// <summary>Pushes an index of <paramref name="images"/> under <paramref name="tag"/>.</summary>
    public static Descriptor PushIndex(FakeRegistry registry, string repository, string tag, params PushedImage[] images) =>
        registry.PutManifest(repository, tag, Index(images.Select(i => i.Manifest)), MediaTypes.OciIndex);

    private static Descriptor PushConfig(this FakeRegistry registry, string repository, byte[] config) =>
        registry.PutBlob(repository, config, MediaTypes.OciConfig);
}

internal sealed record PushedImage(Descriptor Manifest, Descriptor Config, IReadOnlyList<Descriptor> Layers);
