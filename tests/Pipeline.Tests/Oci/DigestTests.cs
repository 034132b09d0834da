using System.Text.Json;
using Pipeline.Oci;

namespace Pipeline.Tests.Oci;

public sealed class DigestTests
{
    private const string Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Fact]
    public void Parse_Sha256LowerHex_RoundTrips()
    {
        var digest = Digest.Parse($"sha256:{Hex}");

        Assert.Equal(Hex, digest.Hex);
        Assert.Equal($"sha256:{Hex}", digest.ToString());
        Assert.False(digest.IsEmpty);
    }

    [Fact]
    public void Compute_EmptyContent_IsWellKnownDigest()
    {
        Assert.Equal(Digest.Parse($"sha256:{Hex}"), Digest.Compute([]));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sha256:../x")]
    [InlineData("sha256:" + "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha512:" + Hex)]
    [InlineData("SHA256:" + Hex)]
    [InlineData("sha256:" + Hex + "0")]
    [InlineData("sha256:" + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85")]
    [InlineData(Hex)]
    [InlineData(" sha256:" + Hex)]
    public void Parse_Malformed_ThrowsBadInput(string? text)
    {
        var ex = Assert.Throws<PipelineException>(() => Digest.Parse(text));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.False(Digest.TryParse(text, out _));
    }

    [Fact]
    public void Json_Descriptor_RoundTripsAndRejectsBadDigest()
    {
        var descriptor = new Descriptor(MediaTypes.OciLayerGzip, Digest.Parse($"sha256:{Hex}"), 0);

        string json = JsonSerializer.Serialize(descriptor);
        Assert.Contains($"\"sha256:{Hex}\"", json);
        Assert.Equal(descriptor, JsonSerializer.Deserialize<Descriptor>(json));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Descriptor>(json.Replace("sha256:", "sha512:")));
    }
}
