using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Webhooks;

namespace Pipeline.Tests.Webhooks;

public sealed class DockerHubPayloadParserTests
{
    private readonly DockerHubPayloadParser _parser = new();

    [Fact]
    public void Parse_DocumentedPush_ReturnsTheTagWithoutDigestOrHost()
    {
        var payload = _parser.Parse(Load("dockerhub-push.json"), NoHeaders);

        Assert.Equal("dockerhub", _parser.Provider);
        Assert.Equal<RegistryPush>([new RegistryPush(null, "acme/app", "1.4.2", null)], payload.Pushes);
        Assert.Null(payload.DeliveryId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1736944212), payload.OccurredAt);
    }

    [Fact]
    public void Parse_OfficialImageName_KeepsTheOneComponentName()
    {
        var payload = _parser.Parse(Load("dockerhub-push.json", n => n["repository"]!["repo_name"] = "nginx"), NoHeaders);

        Assert.Equal("nginx", Assert.Single(payload.Pushes).Repository);
    }

    [Fact]
    public void Parse_PushedAtAsFloatLikeOlderDeliveries_ReadsUnixSeconds()
    {
        var payload = _parser.Parse(Bytes("""{"push_data":{"pushed_at":1.417566161e+09,"tag":"latest"},"repository":{"repo_name":"acme/cache"}}"""), NoHeaders);

        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1417566161000), payload.OccurredAt);
    }

    [Fact]
    public void Parse_NoPushedAt_LeavesOccurredAtNull()
    {
        var payload = _parser.Parse(Load("dockerhub-push.json", n => n["push_data"]!.AsObject().Remove("pushed_at")), NoHeaders);

        Assert.Null(payload.OccurredAt);
        Assert.Single(payload.Pushes);
    }

    [Theory]
    [InlineData("""{"push_data":{"tag":"1.0"},"repository":{}}""", "repository.repo_name: missing")]
    [InlineData("""{"push_data":{"tag":"1.0"}}""", "repository.repo_name: missing")]
    [InlineData("""{"push_data":{"tag":"1.0"},"repository":{"repo_name":""}}""", "repository.repo_name: missing")]
    [InlineData("""{"push_data":{"tag":"1.0"},"repository":"acme/app"}""", "repository: expected an object")]
    [InlineData("""{"push_data":{"tag":"1.0"},"repository":{"repo_name":42}}""", "repository.repo_name: expected a string")]
    [InlineData("""{"push_data":{"tag":"1.0"},"repository":{"repo_name":"Acme/App"}}""", "repository.repo_name: 'Acme/App' is not a repository name")]
    [InlineData("""{"push_data":{},"repository":{"repo_name":"acme/app"}}""", "push_data.tag: missing")]
    [InlineData("""{"push_data":{"tag":"-dash"},"repository":{"repo_name":"acme/app"}}""", "push_data.tag: '-dash' is not a valid tag")]
    [InlineData("""{"push_data":{"tag":"a b"},"repository":{"repo_name":"acme/app"}}""", "push_data.tag: 'a b' is not a valid tag")]
    [InlineData("""{"push_data":{"tag":"1.0","pushed_at":"yesterday"},"repository":{"repo_name":"acme/app"}}""", "push_data.pushed_at: expected unix seconds")]
    public void Parse_WrongShape_ThrowsBadInputNamingTheField(string body, string expected)
    {
        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(Bytes(body), NoHeaders));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith(expected, ex.Detail);
    }

    [Fact]
    public void Parse_TagLongerThan128_ThrowsBadInput()
    {
        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(Load("dockerhub-push.json", n => n["push_data"]!["tag"] = new string('a', 129)), NoHeaders));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith("push_data.tag:", ex.Detail);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{"push_data":{"tag":"1.0"},""")]
    [InlineData("""{"push_data":{"tag":"1.0"},"repository":{"repo_name":"acme/app"},"repository":{"repo_name":"acme/other"}}""")]
    public void Parse_InvalidJson_ThrowsBadInputNamingTheBody(string body)
    {
        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(Bytes(body), NoHeaders));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith("body: not valid JSON", ex.Detail);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"acme/app\"")]
    [InlineData("null")]
    [InlineData("42")]
    public void Parse_NonObjectRoot_ThrowsBadInput(string body)
    {
        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(Bytes(body), NoHeaders));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.StartsWith("body: expected a JSON object", ex.Detail);
    }

    [Fact]
    public void Parse_NestedDeeperThan64_ThrowsBadInput()
    {
        string deep = """{"push_data":{"tag":"1.0"},"repository":{"repo_name":"acme/app"},"x":""" + new string('[', 70) + new string(']', 70) + "}";

        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(Bytes(deep), NoHeaders));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
    }

    [Fact]
    public void Parse_ByteOrderMark_IsIgnored()
    {
        byte[] body = [0xEF, 0xBB, 0xBF, .. Load("dockerhub-push.json")];

        Assert.Single(_parser.Parse(body, NoHeaders).Pushes);
    }

    private static string? NoHeaders(string name) => null;

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Load(string file, Action<JsonNode>? edit = null)
    {
        string text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Webhooks", "Payloads", file));
        if (edit is null)
        {
            return Bytes(text);
        }
        var node = JsonNode.Parse(text)!;
        edit(node);
        return Bytes(node.ToJsonString());
    }
}
