using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Oci;
using Pipeline.Webhooks;

namespace Pipeline.Tests.Webhooks;

public sealed class AcrPayloadParserTests
{
    private const string PushDigest = "sha256:6f3095ea2b3eeae3895d2f0bedabc7b8928f5317e4e9ec611e4214e0090d773c";

    private readonly AcrPayloadParser _parser = new();

    [Fact]
    public void Parse_ImagePush_ReturnsOnePushWithTheLoginServer()
    {
        var payload = _parser.Parse(PayloadFiles.Load("acr-push.json"), PayloadFiles.NoHeaders);

        Assert.Equal("acr", _parser.Provider);
        Assert.Equal<RegistryPush>([new RegistryPush("acmeedge.azurecr.io", "edge/app", "2025.06.12", Digest.Parse(PushDigest))], payload.Pushes);
        Assert.Equal("5d2b6c1e-8f4a-4e7b-9c3d-2a1f0e9d8c7b", payload.DeliveryId);
        Assert.Equal(new DateTimeOffset(2025, 6, 12, 8, 31, 7, 412, TimeSpan.Zero).AddTicks(5389), payload.OccurredAt);
    }

    [Theory]
    [InlineData("application/vnd.docker.distribution.manifest.v2+json")]
    [InlineData("application/vnd.docker.distribution.manifest.list.v2+json")]
    [InlineData("application/vnd.oci.image.manifest.v1+json")]
    [InlineData("application/vnd.oci.image.index.v1+json")]
    public void Parse_PushOfEachManifestMediaType_ReturnsThePush(string mediaType)
    {
        var payload = _parser.Parse(PayloadFiles.Load("acr-push.json", n => n["target"]!["mediaType"] = mediaType), PayloadFiles.NoHeaders);

        Assert.Single(payload.Pushes);
    }

    [Theory]
    [InlineData("application/vnd.acr.helm.chart")]
    [InlineData("application/vnd.docker.image.rootfs.diff.tar.gzip")]
    [InlineData("application/vnd.docker.distribution.manifest.v1+prettyjws")]
    [InlineData("application/octet-stream")]
    [InlineData(null)]
    public void Parse_PushOfSomethingElse_ReturnsNoPushes(string? mediaType)
    {
        var payload = _parser.Parse(PayloadFiles.Load("acr-push.json", n => n["target"]!["mediaType"] = mediaType), PayloadFiles.NoHeaders);

        Assert.Empty(payload.Pushes);
        Assert.NotNull(payload.DeliveryId);
    }

    [Fact]
    public void Parse_PushByDigest_ReturnsTagNull()
    {
        var payload = _parser.Parse(PayloadFiles.Load("acr-push.json", n => n["target"]!.AsObject().Remove("tag")), PayloadFiles.NoHeaders);

        Assert.Equal(new RegistryPush("acmeedge.azurecr.io", "edge/app", null, Digest.Parse(PushDigest)), Assert.Single(payload.Pushes));
    }

    [Fact]
    public void Parse_WithoutRequestHost_LeavesHostNull()
    {
        var payload = _parser.Parse(PayloadFiles.Load("acr-push.json", n => n.AsObject().Remove("request")), PayloadFiles.NoHeaders);

        Assert.Null(Assert.Single(payload.Pushes).Host);
    }

    [Theory]
    [InlineData("acr-delete.json")]
    [InlineData("acr-chart-push.json")]
    public void Parse_DocumentedNonImagePushEvents_ReturnNoPushes(string file)
    {
        var payload = _parser.Parse(PayloadFiles.Load(file), PayloadFiles.NoHeaders);

        Assert.Empty(payload.Pushes);
        Assert.NotNull(payload.DeliveryId);
    }

    [Theory]
    [InlineData("delete")]
    [InlineData("chart_push")]
    [InlineData("chart_delete")]
    [InlineData("quarantine")]
    [InlineData("ping")]
    [InlineData("Push")]
    public void Parse_OtherActions_ReturnNoPushes(string action)
    {
        var payload = _parser.Parse(PayloadFiles.Load("acr-push.json", n => n["action"] = action), PayloadFiles.NoHeaders);

        Assert.Empty(payload.Pushes);
    }

    [Fact]
    public void Parse_MalformedDigestBesideATag_KeepsTheTagOnly()
    {
        var payload = _parser.Parse(PayloadFiles.Load("acr-push.json", n => n["target"]!["digest"] = "sha256:xxxxd5c8786bb9e621a45ece0dbxxxx1cdc624ad20da9fe62e9d25490f33xxxx"), PayloadFiles.NoHeaders);

        Assert.Equal(new RegistryPush("acmeedge.azurecr.io", "edge/app", "2025.06.12", null), Assert.Single(payload.Pushes));
    }

    [Theory]
    [InlineData("target.repository", null, "target.repository: missing")]
    [InlineData("target.repository", "Edge/App", "target.repository: 'Edge/App' is not a repository name")]
    [InlineData("target.tag", "v1:2", "target.tag: 'v1:2' is not a valid tag")]
    [InlineData("target.digest", "sha512:abc", "target.digest: 'sha512:abc' is not sha256:")]
    [InlineData("request.host", "evil host/x", "request.host: 'evil host/x' is not a registry host")]
    [InlineData("timestamp", "last tuesday", "timestamp: 'last tuesday' is not an ISO 8601 time")]
    [InlineData("action", null, "action: missing")]
    public void Parse_BadField_ThrowsBadInputNamingIt(string path, string? value, string expected)
    {
        var body = PayloadFiles.Load("acr-push.json", n =>
        {
            if (path == "target.digest")
            {
                n["target"]!.AsObject().Remove("tag");
            }
            string[] parts = path.Split('.');
            var parent = parts.Length == 1 ? n : n[parts[0]]!;
            if (value is null)
            {
                parent.AsObject().Remove(parts[^1]);
            }
            else
            {
                parent[parts[^1]] = value;
            }
        });

        PayloadFiles.AssertBadInput(() => _parser.Parse(body, PayloadFiles.NoHeaders), expected);
    }

    [Fact]
    public void Parse_TargetNotAnObject_ThrowsBadInput()
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("acr-push.json", n => n["target"] = "edge/app:1"), PayloadFiles.NoHeaders), "target: expected an object");
    }

    [Theory]
    [InlineData("""{"id":"1","action":"push",}""")]
    [InlineData("[{\"action\":\"push\"}]")]
    public void Parse_NotAJsonObject_ThrowsBadInput(string body)
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(Encoding.UTF8.GetBytes(body), PayloadFiles.NoHeaders), "body:");
    }

}
