using System.Text;
using Pipeline.Oci;
using Pipeline.Snapshots;

namespace Pipeline.Tests.Snapshots;

public sealed class DeltaPlanTests
{
    private static Descriptor Blob(string content, long size, string mediaType = MediaTypes.OciLayerGzip) =>
        new(mediaType, Digest.Compute(Encoding.UTF8.GetBytes(content)), size);

    private static readonly Descriptor Config = Blob("config", 500, MediaTypes.OciConfig);
    private static readonly Descriptor Base = Blob("base", 30_000_000);
    private static readonly Descriptor Empty = Blob("empty", 32);
    private static readonly Descriptor App = Blob("app", 4_000_000);

    private static ArchSnapshot Arch(params Descriptor[] layers) =>
        new("amd64", "registry.test/app:1", Blob("manifest", 900, MediaTypes.OciManifest), Config, layers);

    [Fact]
    public void For_NothingHeld_ConfigThenLayersInOrder()
    {
        var plan = DeltaPlan.For(Arch(Base, App), new HashSet<Digest>());

        Assert.Equal([Config, Base, App], plan.Blobs);
        Assert.Equal(500 + 30_000_000 + 4_000_000, plan.BytesTotal);
        Assert.Equal(plan.BytesTotal, plan.BytesToDownload);
    }

    [Fact]
    public void For_DeviceHoldsBaseAndConfig_OnlyTheChangedLayer()
    {
        var plan = DeltaPlan.For(Arch(Base, App), new HashSet<Digest> { Base.Digest, Config.Digest, Blob("unrelated", 1).Digest });

        Assert.Equal([App], plan.Blobs);
        Assert.Equal(500 + 30_000_000 + 4_000_000, plan.BytesTotal);
        Assert.Equal(4_000_000, plan.BytesToDownload);
    }

    [Fact]
    public void For_LayerListedTwice_DownloadedAndCountedOnce()
    {
        var plan = DeltaPlan.For(Arch(Empty, Base, Empty, App), new HashSet<Digest>());

        Assert.Equal([Config, Empty, Base, App], plan.Blobs);
        Assert.Equal(500 + 32 + 30_000_000 + 4_000_000, plan.BytesTotal);
    }

    [Fact]
    public void For_DeviceHoldsEverything_NothingToDownload()
    {
        var plan = DeltaPlan.For(Arch(Base, App), new HashSet<Digest> { Config.Digest, Base.Digest, App.Digest });

        Assert.Empty(plan.Blobs);
        Assert.Equal(0, plan.BytesToDownload);
        Assert.Equal(500 + 30_000_000 + 4_000_000, plan.BytesTotal);
    }
}
