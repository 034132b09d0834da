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
        var payload = _parser.Parse(Load("acr-push.json"), NoHeaders);

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
        var payload = _parser.Parse(Load("acr-push.json", n => n["target"]!["mediaType"] = mediaType), NoHeaders);

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
        var payload = _parser.Parse(Load("acr-push.json", n => n["target"]!["mediaType"] = mediaType), NoHeaders);

        Assert.Empty(payload.Pushes);
        Assert.NotNull(payload.DeliveryId);
    }

    [Fact]
    public void Parse_PushByDigest_ReturnsTagNull()
    {
        var payload = _parser.Parse(Load("acr-push.json", n => n["target"]!.AsObject().Remove("tag")), NoHeaders);

        Assert.Equal(new RegistryPush("acmeedge.azurecr.io", "edge/app", null, Digest.Parse(PushDigest)), Assert.Single(payload.Pushes));
    }

    [Fact]
    public void Parse_WithoutRequestHost_LeavesHostNull()
    {
        var payload = _parser.Parse(Load("acr-push.json", n => n.AsObject().Remove("request")), NoHeaders);

        Assert.Null(Assert.Single(payload.Pushes).Host);
    }

    [Theory]
    [InlineData("acr-delete.json")]
    [InlineData("acr-chart-push.json")]
    public void Parse_DocumentedNonImagePushEvents_ReturnNoPushes(string file)
    {
        var payload = _parser.Parse(Load(file), NoHeaders);

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
        var payload = _parser.Parse(Load("acr-push.json", n => n["action"] = action), NoHeaders);

        Assert.Empty(payload.Pushes);
    }

    [Fact]
    public void Parse_MalformedDigestBesideATag_KeepsTheTagOnly()
    {
        var payload = _parser.Parse(Load("acr-push.json", n => n["target"]!["digest"] = "sha256:xxxxd5c8786bb9e621a45ece0dbxxxx1cdc624ad20da9fe62e9d25490f33xxxx"), NoHeaders);

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
        var body = Load("acr-push.json", n =>
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

        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(body, NoHeaders));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith(expected, ex.Detail);
    }

    [Fact]
    public void Parse_TargetNotAnObject_ThrowsBadInput()
    {
        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(Load("acr-push.json", n => n["target"] = "edge/app:1"), NoHeaders));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith("target: expected an object", ex.Detail);
    }

    [Theory]
    [InlineData("""{"id":"1","action":"push",}""")]
    [InlineData("[{\"action\":\"push\"}]")]
    public void Parse_NotAJsonObject_ThrowsBadInput(string body)
    {
        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(Encoding.UTF8.GetBytes(body), NoHeaders));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith("body:", ex.Detail);
    }

    private static string? NoHeaders(string name) => null;

    private static byte[] Load(string file, Action<JsonNode>? edit = null)
    {
        string text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Webhooks", "Payloads", file));
        if (edit is null)
        {
            return Encoding.UTF8.GetBytes(text);
        }
        var node = JsonNode.Parse(text)!;
        edit(node);
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }
}
