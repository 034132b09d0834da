using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Oci;
using Pipeline.Webhooks;

namespace Pipeline.Tests.Webhooks;

public sealed class DistributionPayloadParserTests
{
    private const string Host = "registry.acme.example:5000";
    private const string ManifestDigest = "sha256:bcae0416621b3db43d8cba1e4454a792c7af9e4b7287e51056efc5a215d95839";
    private const string Amd64 = "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51";
    private const string Arm64 = "sha256:f69162950f235e3cdbbad33f1f912d1a504be90d8a37d002c735d6f3e3882265";
    private const string Index = "sha256:c66a8eb7e6a7e395bf000e8884c7de131a5cf32a9f42de44a1b9ceaf47c8900e";

    private readonly DistributionPayloadParser _parser = new();

    [Fact]
    public void Parse_PushByTag_CountsTheManifestButNotItsBlobs()
    {
        var payload = _parser.Parse(PayloadFiles.Load("distribution-push.json"), PayloadFiles.NoHeaders);

        Assert.Equal("distribution", _parser.Provider);
        Assert.Equal<RegistryPush>([new RegistryPush(Host, "edge/app", "stable", Digest.Parse(ManifestDigest))], payload.Pushes);
        Assert.Equal("9f3e1d7b-5c2a-4e8d-b6f0-2c4e6a8b0d3f", payload.DeliveryId);
        Assert.Equal(new DateTimeOffset(2025, 6, 12, 10, 31, 7, 15, TimeSpan.FromHours(2)).AddTicks(5033), payload.OccurredAt);
    }

    [Fact]
    public void Parse_PushByDigestWithoutTag_ReturnsTagNull()
    {
        var payload = _parser.Parse(PayloadFiles.Load("distribution-push-by-digest.json"), PayloadFiles.NoHeaders);

        Assert.Equal(new RegistryPush(Host, "edge/app", null, Digest.Parse(Amd64)), Assert.Single(payload.Pushes));
    }

    [Fact]
    public void Parse_MultiArchPush_ReturnsPlatformManifestsByDigestAndTheTaggedIndex()
    {
        var payload = _parser.Parse(PayloadFiles.Load("distribution-multiarch.json"), PayloadFiles.NoHeaders);

        Assert.Equal<RegistryPush>(
        [
            new RegistryPush(Host, "edge/app", null, Digest.Parse(Amd64)),
            new RegistryPush(Host, "edge/app", null, Digest.Parse(Arm64)),
            new RegistryPush(Host, "edge/app", "2.0.1", Digest.Parse(Index)),
        ], payload.Pushes);
        // The blob mount comes first but is not counted.
        Assert.Equal("3e5a7c9e-1f2b-4e4a-b6d8-0f2c4e6a8b0d", payload.DeliveryId);
    }

    [Fact]
    public void Parse_PullsDeletesMountsAndBlobPushes_ReturnNoPushes()
    {
        var payload = _parser.Parse(PayloadFiles.Load("distribution-non-push.json"), PayloadFiles.NoHeaders);

        Assert.Empty(payload.Pushes);
        Assert.Null(payload.DeliveryId);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"events":[]}""")]
    [InlineData("""{"events":null}""")]
    public void Parse_EnvelopeWithoutEvents_ReturnsNoPushes(string body)
    {
        Assert.Empty(_parser.Parse(Encoding.UTF8.GetBytes(body), PayloadFiles.NoHeaders).Pushes);
    }

    [Fact]
    public void Parse_MalformedDigestBesideATag_KeepsTheTagOnly()
    {
        var payload = _parser.Parse(PayloadFiles.Load("distribution-push.json", n => n["events"]![2]!["target"]!["digest"] = "sha256:BCAE"), PayloadFiles.NoHeaders);

        Assert.Equal(new RegistryPush(Host, "edge/app", "stable", null), Assert.Single(payload.Pushes));
    }

    [Fact]
    public void Parse_BadFieldOfABlobEvent_IsNotChecked()
    {
        // Events that are not counted are not read beyond their action and media type.
        var payload = _parser.Parse(PayloadFiles.Load("distribution-push.json", n => n["events"]![0]!["target"]!["repository"] = "Not A Repo"), PayloadFiles.NoHeaders);

        Assert.Single(payload.Pushes);
    }

    [Theory]
    [InlineData("repository", null, "events[2].target.repository: missing")]
    [InlineData("tag", "-x", "events[2].target.tag: '-x' is not a valid tag")]
    public void Parse_ManifestPushWithBadTarget_ThrowsBadInputNamingTheEvent(string field, string? value, string expected)
    {
        var body = PayloadFiles.Load("distribution-push.json", n =>
        {
            var target = n["events"]![2]!["target"]!.AsObject();
            if (value is null)
            {
                target.Remove(field);
            }
            else
            {
                target[field] = value;
            }
        });

        PayloadFiles.AssertBadInput(() => _parser.Parse(body, PayloadFiles.NoHeaders), expected);
    }

    [Fact]
    public void Parse_PushByDigestWithMalformedDigest_ThrowsBadInput()
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("distribution-push-by-digest.json", n => n["events"]![0]!["target"]!["digest"] = "md5:0123"), PayloadFiles.NoHeaders), "events[0].target.digest:");
    }

    [Fact]
    public void Parse_BadRequestHost_ThrowsBadInput()
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(PayloadFiles.Load("distribution-push-by-digest.json", n => n["events"]![0]!["request"]!["host"] = "registry:5000/x"), PayloadFiles.NoHeaders), "events[0].request.host:");
    }

    [Theory]
    [InlineData("""{"events":{"action":"push"}}""", "events: expected an array")]
    [InlineData("""{"events":["push"]}""", "events[0]: expected an object")]
    [InlineData("""{"events":[{"action":"push","target":[]}]}""", "events[0].target: expected an object")]
    [InlineData("""{"events":[""", "body: not valid JSON")]
    [InlineData("[]", "body: expected a JSON object")]
    public void Parse_WrongShape_ThrowsBadInput(string body, string expected)
    {
        PayloadFiles.AssertBadInput(() => _parser.Parse(Encoding.UTF8.GetBytes(body), PayloadFiles.NoHeaders), expected);
    }

}
