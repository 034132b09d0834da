using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Oci;
using Pipeline.Webhooks;

namespace Pipeline.Tests.Webhooks;

public sealed class HarborPayloadParserTests
{
    private const string PushDigest = "sha256:c1d64b2d4cb30f1be788cc4d246ddd9fc1fe85a3eb3a85a3de33829dfaf6ce7d";
    private const string OtherDigest = "sha256:f998fe06afa0cfbe73e0449dc2b1698309e1b5714960f027b2858312b152c275";

    private readonly HarborPayloadParser _parser = new();

    [Fact]
    public void Parse_PushArtifact_ReturnsOnePushWithHostFromTheResourceUrl()
    {
        var payload = _parser.Parse(PayloadFiles.Load("harbor-push-artifact.json"), PayloadFiles.NoHeaders);

        Assert.Equal("harbor", _parser.Provider);
        Assert.Equal<RegistryPush>([new RegistryPush("harbor.acme.example:8443", "edge/gateway/app", "v3.2.0", Digest.Parse(PushDigest))], payload.Pushes);
        Assert.Null(payload.DeliveryId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1749717067), payload.OccurredAt);
    }

    [Fact]
    public void Parse_SeveralResources_ReturnsOnePushEach()
    {
        var payload = _parser.Parse(PayloadFiles.Load("harbor-push-artifact.json", n => n["event_data"]!["resources"]!.AsArray().Add(new JsonObject
        {
            ["digest"] = OtherDigest,
            ["tag"] = "latest",
            ["resource_url"] = "harbor.acme.example:8443/edge/gateway/app:latest",
        })), PayloadFiles.NoHeaders);

        Assert.Equal<RegistryPush>(
        [
            new RegistryPush("harbor.acme.example:8443", "edge/gateway/app", "v3.2.0", Digest.Parse(PushDigest)),
            new RegistryPush("harbor.acme.example:8443", "edge/gateway/app", "latest", Digest.Parse(OtherDigest)),
        ], payload.Pushes);
    }

    [Fact]
    public void Parse_PushByDigest_ReportsTheDigestAsTag_ReturnsTagNull()
    {
        var payload = _parser.Parse(PayloadFiles.Load("harbor-push-artifact.json", n => n["event_data"]!["resources"]![0] = new JsonObject
        {
            ["digest"] = OtherDigest,
            ["tag"] = OtherDigest,
            ["resource_url"] = $"harbor.acme.example:8443/edge/gateway/app@{OtherDigest}",
        }), PayloadFiles.NoHeaders);

        Assert.Equal(new RegistryPush("harbor.acme.example:8443", "edge/gateway/app", null, Digest.Parse(OtherDigest)), Assert.Single(payload.Pushes));
    }

    [Fact]
    public void Parse_NoResourceUrl_LeavesHostNull()
    {
        var payload = _parser.Parse(PayloadFiles.Load("harbor-push-artifact.json", n => n["event_data"]!["resources"]![0]!.AsObject().Remove("resource_url")), PayloadFiles.NoHeaders);

        Assert.Null(Assert.Single(payload.Pushes).Host);
    }

    [Fact]
    public void Parse_CloudEventsFormat_ReturnsThePushWithTheEventId()
    {
        var payload = _parser.Parse(PayloadFiles.Load("harbor-push-cloudevents.json"), PayloadFiles.NoHeaders);

        Assert.Equal<RegistryPush>([new RegistryPush("harbor.acme.example", "edge/gateway/app", "v3.2.0", Digest.Parse(PushDigest))], payload.Pushes);
        Assert.Equal("f47ac10b-58cc-4372-a567-0e02b2c3d479", payload.DeliveryId);
        Assert.Equal(DateTimeOffset.Parse("2025-06-12T08:31:07Z"), payload.OccurredAt);
    }

    [Theory]
    [InlineData("PULL_ARTIFACT")]
    [InlineData("DELETE_ARTIFACT")]
    [InlineData("SCANNING_COMPLETED")]
    [InlineData("QUOTA_EXCEED")]
    [InlineData("REPLICATION")]
    [InlineData("TAG_RETENTION")]
    [InlineData("UPLOAD_CHART")]
    public void Parse_OtherEventTypes_ReturnNoPushes(string type)
    {
        var payload = _parser.Parse(PayloadFiles.Load("harbor-push-artifact.json", n => n["type"] = type), PayloadFiles.NoHeaders);

        Assert.Empty(payload.Pushes);
    }

    [Theory]
    [InlineData("harbor.artifact.pulled")]
    [InlineData("harbor.artifact.deleted")]
    [InlineData("harbor.scan.completed")]
    public void Parse_OtherCloudEventsTypes_ReturnNoPushes(string type)
    {
        var payload = _parser.Parse(PayloadFiles.Load("harbor-push-cloudevents.json", n => n["type"] = type), PayloadFiles.NoHeaders);

        Assert.Empty(payload.Pushes);
        Assert.NotNull(payload.DeliveryId);
    }

    [Fact]
    public void Parse_MissingRepoFullName_ThrowsBadInputNamingIt()
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("harbor-push-artifact.json", n => n["event_data"]!["repository"]!.AsObject().Remove("repo_full_name")), PayloadFiles.NoHeaders), "event_data.repository.repo_full_name: missing");
    }

    [Fact]
    public void Parse_CloudEventsWithoutRepository_ThrowsBadInputNamingData()
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("harbor-push-cloudevents.json", n => n["data"]!.AsObject().Remove("repository")), PayloadFiles.NoHeaders), "data.repository.repo_full_name: missing");
    }

    [Theory]
    [InlineData("""{"resource_url":"harbor.acme.example/edge/app"}""", "event_data.resources[0].digest: missing, and there is no tag")]
    [InlineData("""{"tag":"","digest":"sha256:abc"}""", "event_data.resources[0].digest: 'sha256:abc' is not sha256:")]
    [InlineData("""{"tag":"bad tag","digest":"sha256:c1d64b2d4cb30f1be788cc4d246ddd9fc1fe85a3eb3a85a3de33829dfaf6ce7d"}""", "event_data.resources[0].tag: 'bad tag' is not a valid tag")]
    [InlineData("""{"tag":"v1","resource_url":"bad_host!/edge/app:v1"}""", "event_data.resources[0].resource_url: 'bad_host!' is not a registry host")]
    [InlineData("\"edge/app:v1\"", "event_data.resources[0]: expected an object")]
    public void Parse_BadResource_ThrowsBadInputNamingTheField(string resource, string expected)
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("harbor-push-artifact.json", n => n["event_data"]!["resources"]![0] = JsonNode.Parse(resource)), PayloadFiles.NoHeaders), expected);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("{}")]
    public void Parse_PushWithoutResources_ThrowsBadInput(string resources)
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("harbor-push-artifact.json", n => n["event_data"]!["resources"] = JsonNode.Parse(resources)), PayloadFiles.NoHeaders), "event_data.resources:");
    }

    [Theory]
    [InlineData("""{"occur_at":1749717067}""", "type: missing")]
    [InlineData("""{"type":"PUSH_ARTIFACT","occur_at":"2025-06-12"}""", "occur_at: expected unix seconds")]
    [InlineData("""{"type":"PUSH_ARTIFACT","event_data":[]}""", "event_data: expected an object")]
    [InlineData("not json", "body: not valid JSON")]
    [InlineData("[]", "body: expected a JSON object")]
    public void Parse_WrongShape_ThrowsBadInput(string body, string expected)
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(Encoding.UTF8.GetBytes(body), PayloadFiles.NoHeaders), expected);
    }

}
