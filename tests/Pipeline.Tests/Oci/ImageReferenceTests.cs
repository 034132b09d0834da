using Pipeline.Oci;

namespace Pipeline.Tests.Oci;

public sealed class ImageReferenceTests
{
    private const string Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("ubuntu", "docker.io", "library/ubuntu", "latest")]
    [InlineData("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04")]
    [InlineData("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest")]
    [InlineData("user/app:v1", "docker.io", "user/app", "v1")]
    [InlineData("ghcr.io/org/team/app:1.2.3", "ghcr.io", "org/team/app", "1.2.3")]
    [InlineData("localhost/app", "localhost", "app", "latest")]
    [InlineData("localhost:5000/app:dev", "localhost:5000", "app", "dev")]
    [InlineData("Registry.Example.COM:8443/app", "registry.example.com:8443", "app", "latest")]
    [InlineData("10.0.0.5:5000/a/b", "10.0.0.5:5000", "a/b", "latest")]
    [InlineData("[::1]:5000/app:x", "[::1]:5000", "app", "x")]
    [InlineData("[2001:DB8::1]/app", "[2001:db8::1]", "app", "latest")]
    [InlineData("myhost:5000", "docker.io", "library/myhost", "5000")]
    [InlineData("index.docker.io/alpine", "docker.io", "library/alpine", "latest")]
    [InlineData("INDEX.docker.io/user/app:2", "docker.io", "user/app", "2")]
    [InlineData("registry-1.docker.io/user/app", "registry-1.docker.io", "user/app", "latest")]
    public void Parse_ValidReference_Normalises(string text, string registry, string repository, string tag)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(registry, reference.Registry);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Null(reference.Digest);
        Assert.Equal(tag, reference.ManifestReference);
    }

    [Fact]
    public void ApiHost_DockerHub_IsRegistry1()
    {
        Assert.Equal("registry-1.docker.io", ImageReference.Parse("alpine").ApiHost);
        Assert.Equal("ghcr.io", ImageReference.Parse("ghcr.io/a/b").ApiHost);
        Assert.Equal("registry-1.docker.io", ImageReference.Parse("index.docker.io/library/alpine").ApiHost);
    }

    [Fact]
    public void Parse_DigestPinned_ManifestReferenceIsDigest()
    {
        var reference = ImageReference.Parse($"ghcr.io/org/app@sha256:{Hex}");

        Assert.Null(reference.Tag);
        Assert.Equal($"sha256:{Hex}", reference.Digest.ToString());
        Assert.Equal($"sha256:{Hex}", reference.ManifestReference);
        Assert.Equal($"ghcr.io/org/app@sha256:{Hex}", reference.ToString());
    }

    [Fact]
    public void Parse_TagAndDigest_DigestWins()
    {
        var reference = ImageReference.Parse($"localhost:5000/app:1.0@sha256:{Hex}");

        Assert.Equal("1.0", reference.Tag);
        Assert.Equal($"sha256:{Hex}", reference.ManifestReference);
        Assert.Equal("localhost:5000", reference.Registry);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Ubuntu")]
    [InlineData("app:")]
    [InlineData("app:-bad")]
    [InlineData("/app")]
    [InlineData("registry.example.com/")]
    [InlineData("a//b")]
    [InlineData("app name")]
    [InlineData("host:0/app")]
    [InlineData("host:99999/app")]
    [InlineData("host:05000/app")]
    [InlineData("[::1/app")]
    [InlineData("[not-an-ip]:5000/app")]
    [InlineData("[127.0.0.1]/app")]
    [InlineData("-bad-.example.com/app")]
    [InlineData("app@sha256:../x")]
    [InlineData("app@sha256:" + "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("app@sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("app@sha256:0123")]
    [InlineData("app@")]
    public void Parse_Malformed_ThrowsBadInput(string text)
    {
        var ex = Assert.Throws<PipelineException>(() => ImageReference.Parse(text));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
    }

    [Fact]
    public void Parse_TooLong_ThrowsBadInputWithTruncatedMessage()
    {
        var ex = Assert.Throws<PipelineException>(() => ImageReference.Parse("a/" + new string('b', 600)));

        Assert.Equal(ErrorCodes.BadInput, ex.Code);
        Assert.True(ex.Message.Length < 300);
    }
}
