using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Oci;
using Pipeline.Webhooks;

namespace Pipeline.Tests.Webhooks;

public sealed class GitHubPayloadParserTests
{
    private const string IndexDigest = "sha256:c66a8eb7e6a7e395bf000e8884c7de131a5cf32a9f42de44a1b9ceaf47c8900e";
    private const string PlatformTemplate = "github-registry-package-platform.json";

    private readonly GitHubPayloadParser _parser = new();

    [Fact]
    public void Parse_PackagePublished_ReturnsOnePushWithLowerCasedRepository()
    {
        var payload = _parser.Parse(PayloadFiles.Load("github-package-published.json"), Headers("package", "72d3162e-cc78-11e3-81ab-4c9367dc0958"));

        Assert.Equal("github", _parser.Provider);
        Assert.Equal<RegistryPush>([new RegistryPush(null, "acme-devices/edge-app", "2.0.1", Digest.Parse(IndexDigest))], payload.Pushes);
        Assert.Equal("72d3162e-cc78-11e3-81ab-4c9367dc0958", payload.DeliveryId);
        // The version's own time is Go's zero time: the delivery carries no time of its own.
        Assert.Null(payload.OccurredAt);
    }

    [Fact]
    public void Parse_MultiArchPush_EachPlatformDeliveryIsOnePushWithTheSameTag()
    {
        string[] digests =
        [
            "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51",
            "sha256:f69162950f235e3cdbbad33f1f912d1a504be90d8a37d002c735d6f3e3882265",
            "sha256:5ba6c8710dd1369ce61603ab9b7a81b25f92d4a9f74956ab72a7ea75884f07ee",
        ];

        var payloads = digests
            .Select((digest, i) => _parser.Parse(Platform(digest), Headers("registry_package", $"delivery-{i}")))
            .ToList();

        for (int i = 0; i < digests.Length; i++)
        {
            var push = Assert.Single(payloads[i].Pushes);
            Assert.Equal(new RegistryPush(null, "acme-devices/edge-app", "2.0.1", Digest.Parse(digests[i])), push);
            Assert.Equal($"delivery-{i}", payloads[i].DeliveryId);
        }
    }

    [Fact]
    public void Parse_UpdatedAction_ReturnsThePush()
    {
        var payload = _parser.Parse(PayloadFiles.Load(PlatformTemplate, n => { Fill(n, IndexDigest); n["action"] = "updated"; }), Headers("registry_package"));

        Assert.Equal("2.0.1", Assert.Single(payload.Pushes).Tag);
    }

    [Fact]
    public void Parse_UntaggedVersion_ReturnsADigestOnlyPush()
    {
        var payload = _parser.Parse(PayloadFiles.Load(PlatformTemplate, n =>
        {
            Fill(n, IndexDigest);
            n["registry_package"]!["package_version"]!["container_metadata"]!["tag"] = new JsonObject { ["name"] = "", ["digest"] = "" };
        }), Headers("registry_package"));

        Assert.Equal(new RegistryPush(null, "acme-devices/edge-app", null, Digest.Parse(IndexDigest)), Assert.Single(payload.Pushes));
    }

    [Fact]
    public void Parse_MalformedDigestBesideATag_KeepsTheTagOnly()
    {
        // Shortened digests appear in GitHub's own examples.
        var payload = _parser.Parse(PayloadFiles.Load(PlatformTemplate, n => Fill(n, "sha256:6c62fb45fe66bfb1ea9a66abc38f6a0cc974292b")), Headers("registry_package"));

        Assert.Equal(new RegistryPush(null, "acme-devices/edge-app", "2.0.1", null), Assert.Single(payload.Pushes));
    }

    [Fact]
    public void Parse_MalformedDigestWithoutTag_ThrowsBadInput()
    {
        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(PayloadFiles.Load(PlatformTemplate, n =>
        {
            Fill(n, "sha256:6c62fb45fe66bfb1ea9a66abc38f6a0cc974292b");
            n["registry_package"]!["package_version"]!["container_metadata"]!["tag"]!["name"] = "";
        }), Headers("registry_package")));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith("registry_package.package_version.container_metadata.tag.digest:", ex.Detail);
    }

    [Theory]
    [InlineData("ping", "github-ping.json")]
    [InlineData("push", "github-ping.json")]
    [InlineData("release", "github-package-published.json")]
    public void Parse_OtherEvents_ReturnNoPushesButKeepTheDeliveryId(string eventName, string file)
    {
        var payload = _parser.Parse(PayloadFiles.Load(file), Headers(eventName, "d-1"));

        Assert.Empty(payload.Pushes);
        Assert.Equal("d-1", payload.DeliveryId);
    }

    [Theory]
    [InlineData("npm")]
    [InlineData("maven")]
    [InlineData("rubygems")]
    public void Parse_NonContainerPackage_ReturnsNoPushes(string packageType)
    {
        var payload = _parser.Parse(PayloadFiles.Load("github-package-published.json", n => n["package"]!["package_type"] = packageType), Headers("package"));

        Assert.Empty(payload.Pushes);
    }

    [Fact]
    public void Parse_LowerCaseContainerType_ReturnsThePush()
    {
        var payload = _parser.Parse(PayloadFiles.Load("github-package-published.json", n => n["package"]!["package_type"] = "container"), Headers("package"));

        Assert.Single(payload.Pushes);
    }

    [Theory]
    [InlineData("deleted")]
    [InlineData("created")]
    public void Parse_OtherAction_ReturnsNoPushes(string action)
    {
        var payload = _parser.Parse(PayloadFiles.Load("github-package-published.json", n => n["action"] = action), Headers("package"));

        Assert.Empty(payload.Pushes);
    }

    [Theory]
    [InlineData("namespace", "package.namespace: missing")]
    [InlineData("name", "package.name: missing")]
    [InlineData("package_version", "package.package_version: missing")]
    [InlineData("package_type", "package.package_type: missing")]
    public void Parse_PublishedWithoutAField_ThrowsBadInputNamingIt(string field, string expected)
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("github-package-published.json", n => n["package"]!.AsObject().Remove(field)), Headers("package")), expected);
    }

    [Fact]
    public void Parse_PackageEventBodyUnderTheOldKey_ThrowsBadInputNamingTheExpectedKey()
    {
        // A "package" delivery carries "package"; the same body announced as registry_package is malformed.
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("github-package-published.json"), Headers("registry_package")), "registry_package.package_type: missing");
    }

    [Fact]
    public void Parse_InvalidTag_ThrowsBadInputNamingTheField()
    {
        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(
            PayloadFiles.Load("github-package-published.json", n => n["package"]!["package_version"]!["container_metadata"]!["tag"]!["name"] = "v1/../x"), Headers("package")));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith("package.package_version.container_metadata.tag.name:", ex.Detail);
    }

    [Fact]
    public void Parse_MissingEventHeader_ThrowsBadInput()
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("github-package-published.json"), _ => null), "X-GitHub-Event: missing");
    }

    [Theory]
    [InlineData("{")]
    [InlineData("[]")]
    [InlineData("action=published")]
    public void Parse_NotAJsonObject_ThrowsBadInput(string body)
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(Encoding.UTF8.GetBytes(body), Headers("package")), "body:");
    }

    private static Func<string, string?> Headers(string eventName, string? deliveryId = null) =>
        name => name.ToLowerInvariant() switch
        {
            "x-github-event" => eventName,
            "x-github-delivery" => deliveryId,
            _ => null,
        };

    private static byte[] Platform(string digest) => PayloadFiles.Load(PlatformTemplate, n => Fill(n, digest));

    // The platform template names its manifest digest as {{DIGEST}} wherever GitHub repeats it.
    private static void Fill(JsonNode node, string digest)
    {
        var version = node["registry_package"]!["package_version"]!;
        version["version"] = digest;
        version["name"] = digest;
        version["container_metadata"]!["tag"]!["digest"] = digest;
        version["container_metadata"]!["manifest"]!["digest"] = digest;
        version["container_metadata"]!["manifest"]!["uri"] = $"repositories/acme-devices/edge-app/manifests/{digest}";
    }
}
