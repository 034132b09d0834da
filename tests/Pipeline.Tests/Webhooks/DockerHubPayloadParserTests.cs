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
        var payload = _parser.Parse(PayloadFiles.Load("dockerhub-push.json"), PayloadFiles.NoHeaders);

        Assert.Equal("dockerhub", _parser.Provider);
        Assert.Equal<RegistryPush>([new RegistryPush(null, "acme/app", "1.4.2", null)], payload.Pushes);
        Assert.Null(payload.DeliveryId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1736944212), payload.OccurredAt);
    }

    [Fact]
    public void Parse_OfficialImageName_KeepsTheOneComponentName()
    {
        var payload = _parser.Parse(PayloadFiles.Load("dockerhub-push.json", n => n["repository"]!["repo_name"] = "nginx"), PayloadFiles.NoHeaders);

        Assert.Equal("nginx", Assert.Single(payload.Pushes).Repository);
    }

    [Fact]
    public void Parse_PushedAtAsFloatLikeOlderDeliveries_ReadsUnixSeconds()
    {
        var payload = _parser.Parse(Bytes("""{"push_data":{"pushed_at":1.417566161e+09,"tag":"latest"},"repository":{"repo_name":"acme/cache"}}"""), PayloadFiles.NoHeaders);

        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1417566161000), payload.OccurredAt);
    }

    [Fact]
    public void Parse_NoPushedAt_LeavesOccurredAtNull()
    {
        var payload = _parser.Parse(PayloadFiles.Load("dockerhub-push.json", n => n["push_data"]!.AsObject().Remove("pushed_at")), PayloadFiles.NoHeaders);

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
        PayloadFiles.AssertBadInput(() => _parser.Parse(Bytes(body), PayloadFiles.NoHeaders), expected);
    }

    [Fact]
    public void Parse_TagLongerThan128_ThrowsBadInput()
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("dockerhub-push.json", n => n["push_data"]!["tag"] = new string('a', 129)), PayloadFiles.NoHeaders), "push_data.tag:");
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{"push_data":{"tag":"1.0"},""")]
    [InlineData("""{"push_data":{"tag":"1.0"},"repository":{"repo_name":"acme/app"},"repository":{"repo_name":"acme/other"}}""")]
    public void Parse_InvalidJson_ThrowsBadInputNamingTheBody(string body)
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(Bytes(body), PayloadFiles.NoHeaders), "body: not valid JSON");
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"acme/app\"")]
    [InlineData("null")]
    [InlineData("42")]
    public void Parse_NonObjectRoot_ThrowsBadInput(string body)
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(Bytes(body), PayloadFiles.NoHeaders), "body: expected a JSON object");
    }

    [Fact]
    public void Parse_NestedDeeperThan64_ThrowsBadInput()
    {
        string deep = """{"push_data":{"tag":"1.0"},"repository":{"repo_name":"acme/app"},"x":""" + new string('[', 70) + new string(']', 70) + "}";

        var ex = Assert.Throws<PipelineException>(() => _parser.Parse(Bytes(deep), PayloadFiles.NoHeaders));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
    }

    [Fact]
    public void Parse_ByteOrderMark_IsIgnored()
    {
        byte[] body = [0xEF, 0xBB, 0xBF, .. PayloadFiles.Load("dockerhub-push.json")];

        Assert.Single(_parser.Parse(body, PayloadFiles.NoHeaders).Pushes);
    }


    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
