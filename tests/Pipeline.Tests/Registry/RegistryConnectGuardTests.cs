using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Oci;
using Pipeline.Registry;

namespace Pipeline.Tests.Registry;

/// <summary>TEST-MATRIX rows 16 and 17: the SSRF guard in the connect path.</summary>
public sealed class RegistryConnectGuardTests
{
    private const string Name = "registry.test";

    public static TheoryData<string> InternalAddresses => new()
    {
        "127.0.0.1", "127.10.0.1", "::1", "169.254.169.254", "168.63.129.16", "10.1.2.3", "172.16.0.1", "172.31.255.254",
        "192.168.1.1", "100.64.0.1", "100.127.255.254", "0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "fd00:ec2::254", "fe80::1", "224.0.0.1", "255.255.255.255",
    };

    [Theory]
    [MemberData(nameof(InternalAddresses))]
    public async Task ResolveAsync_HostResolvesToInternalAddress_ThrowsHostNotAllowedWithoutConnecting(string address)
    {
        await using var registry = await FakeRegistry.StartAsync();
        int port = int.Parse(registry.Host.Split(':')[1]);
        var resolver = FakeResolver.Fixed(Name, IPAddress.Parse(address));
        var connector = new RecordingConnector();
        using var client = Client(resolver, connector);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(ImageReference.Parse($"{Name}:{port}/demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(ErrorCodes.HostNotAllowed, ex.Code);
        Assert.Contains(IPAddress.Parse(address).ToString(), ex.Message);
        Assert.Empty(connector.Attempts);
        Assert.Single(resolver.Lookups); // refused at once, not retried
        Assert.Empty(registry.Requests);
    }

    [Theory]
    [InlineData("[::ffff:127.0.0.1]")]
    [InlineData("169.254.169.254")]
    [InlineData("10.0.0.1")]
    public async Task ResolveAsync_InternalAddressLiteral_ThrowsHostNotAllowedWithoutConnecting(string host)
    {
        var connector = new RecordingConnector();
        using var client = Client(FakeResolver.Fixed("none.test"), connector);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(ImageReference.Parse($"{host}:5000/demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(ErrorCodes.HostNotAllowed, ex.Code);
        Assert.Empty(connector.Attempts);
    }

    [Fact]
    public async Task ResolveAsync_OneOfSeveralAnswersInternal_ThrowsHostNotAllowed()
    {
        var resolver = FakeResolver.Fixed(Name, IPAddress.Parse("203.0.113.10"), IPAddress.Parse("10.0.0.7"));
        var connector = new RecordingConnector();
        using var client = Client(resolver, connector);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(ImageReference.Parse($"{Name}/demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        Assert.Equal(ErrorCodes.HostNotAllowed, ex.Code);
        Assert.Empty(connector.Attempts);
    }

    [Fact]
    public async Task ResolveAsync_InternalHostListedInsecure_ConnectsToCheckedAddress()
    {
        await using var registry = await FakeRegistry.StartAsync();
        int port = int.Parse(registry.Host.Split(':')[1]);
        var image = TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        var resolver = FakeResolver.Fixed(Name, IPAddress.Loopback);
        var connector = new RecordingConnector();
        using var client = Client(resolver, connector, $"{Name}:{port}");

        var resolved = await client.Client.ResolveAsync(
            ImageReference.Parse($"{Name}:{port}/demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None);

        Assert.Equal(image.Manifest.Digest, resolved.Manifest.Digest);
        Assert.All(connector.Attempts, e => Assert.Equal(new IPEndPoint(IPAddress.Loopback, port), e));
    }

    [Fact]
    public async Task ResolveAsync_DnsAnswerChangesAfterCheck_ConnectsOnlyToCheckedAddress()
    {
        // Row 17, on loopback: the first answer (checked, allowed because the host is listed) is
        // 127.0.0.1 where the registry listens; every later answer is 127.0.0.2, where nothing listens.
        // If anything resolved the name again after the check, the pull would fail.
        await using var registry = await FakeRegistry.StartAsync();
        int port = int.Parse(registry.Host.Split(':')[1]);
        TestImages.PushImage(registry, "demo/app", "amd64", tag: "1");
        var resolver = new FakeResolver((host, n) => host == Name ? [n == 1 ? IPAddress.Loopback : IPAddress.Parse("127.0.0.2")] : []);
        var connector = new RecordingConnector();
        using var client = Client(resolver, connector, $"{Name}:{port}");

        await client.Client.ResolveAsync(ImageReference.Parse($"{Name}:{port}/demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None);

        var attempt = Assert.Single(connector.Attempts);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, port), attempt);
        Assert.Single(resolver.Lookups);
        Assert.NotEmpty(registry.Requests);
    }

    [Fact]
    public async Task ResolveAsync_PublicAnswerThenLoopback_EachConnectionUsesItsOwnCheckedAnswer()
    {
        // Row 17 with a public first answer: the connector refuses every non-loopback address, so
        // nothing leaves this machine; what counts is which address each connection was made to.
        await using var registry = await FakeRegistry.StartAsync();
        int port = int.Parse(registry.Host.Split(':')[1]);
        var resolver = new FakeResolver((host, n) => [n == 1 ? IPAddress.Parse("203.0.113.10") : IPAddress.Loopback]);
        var connector = new RecordingConnector();
        using var client = Client(resolver, connector);

        var ex = await Assert.ThrowsAsync<PipelineException>(() =>
            client.Client.ResolveAsync(ImageReference.Parse($"{Name}:{port}/demo/app:1"), Architectures.Amd64, RegistryTestClient.Anonymous(), CancellationToken.None));

        // First connection: checked 203.0.113.10, connected to exactly it (refused by the test connector).
        // The retry's connection resolved again, got 127.0.0.1, and was refused before any socket.
        Assert.Equal(ErrorCodes.HostNotAllowed, ex.Code);
        var attempt = Assert.Single(connector.Attempts);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.10"), port), attempt);
        Assert.Empty(registry.Requests);
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("203.0.113.10")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("169.255.0.1")]
    [InlineData("168.63.129.17")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("::ffff:8.8.8.8")]
    public void Refusal_PublicAddress_IsAllowed(string address) =>
        Assert.Null(AddressPolicy.Refusal(IPAddress.Parse(address)));

    [Theory]
    [MemberData(nameof(InternalAddresses))]
    public void Refusal_InternalAddress_IsRefused(string address) =>
        Assert.NotNull(AddressPolicy.Refusal(IPAddress.Parse(address)));

    private static RegistryTestClient Client(FakeResolver resolver, RecordingConnector connector, params string[] insecureHosts) =>
        new(RegistryTestClient.Settings(insecureHosts), services =>
        {
            services.AddSingleton<IRegistryHostResolver>(resolver);
            services.AddSingleton<IRegistrySocketConnector>(connector);
        });
}
