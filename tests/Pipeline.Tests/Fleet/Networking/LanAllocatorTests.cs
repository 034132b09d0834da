using Pipeline.Fleet;
using Pipeline.Fleet.Networking;
using Pipeline.Snapshots;
using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Fleet.Networking;

/// <summary>The allocator against Azurite: claims, releases and abandoned claims.</summary>
public sealed class LanAllocatorTests
{
    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>Two /24s in a /23.</summary>
    private static readonly LanPlan TwoSlots = LanPlan.From(FleetSeed.Lan("10.50.0.1/23", template: "10.50.0.1/24"));

    private static string NewServiceId() => "ns_" + Guid.NewGuid().ToString("N")[..24];

    private static Func<CancellationToken, Task<IReadOnlySet<string>>> Live(params string[] ids) =>
        _ => Task.FromResult<IReadOnlySet<string>>(new HashSet<string>(ids));

    private static async Task<(FleetSeed Seed, ManualTime Time)> SeedAsync()
    {
        var azurite = await AzuriteFixture.GetSharedAsync();
        var time = new ManualTime(DateTimeOffset.UtcNow);
        return (new FleetSeed(azurite.ConnectionString, time), time);
    }

    [Fact]
    public async Task Allocate_FullWithAnAbandonedOldClaim_ReclaimsIt()
    {
        var (seed, time) = await SeedAsync();
        string ns = NewServiceId();
        Assert.True(await seed.Leases.TryClaimAsync(ns, 0, "ghost", time.Now, CancellationToken.None));
        Assert.True(await seed.Leases.TryClaimAsync(ns, 1, "alive", time.Now, CancellationToken.None));
        time.Now += LanAllocator.OrphanGrace + TimeSpan.FromMinutes(1);

        var lan = await seed.Allocator.AllocateAsync(ns, TwoSlots, "newcomer", Live("alive"), CancellationToken.None);

        Assert.Equal(0, lan!.Slot);
        Assert.Equal("10.50.0.0/24", lan.Subnet);
        var leases = (await seed.Leases.ListAsync(ns, CancellationToken.None)).OrderBy(l => l.Slot).Select(l => l.InstanceId);
        Assert.Equal(["newcomer", "alive"], leases);
    }

    [Fact]
    public async Task Allocate_FullWithARecentClaim_IsSubnetExhausted()
    {
        var (seed, time) = await SeedAsync();
        string ns = NewServiceId();
        Assert.NotNull(await seed.Allocator.AllocateAsync(ns, TwoSlots, "a", Live(), CancellationToken.None));
        Assert.NotNull(await seed.Allocator.AllocateAsync(ns, TwoSlots, "b", Live(), CancellationToken.None));
        // "b" has no instance row yet, but is too young to count as abandoned.
        time.Now += TimeSpan.FromMinutes(1);

        var e = await Assert.ThrowsAsync<PipelineException>(() => seed.Allocator.AllocateAsync(ns, TwoSlots, "c", Live("a"), CancellationToken.None));

        Assert.Equal(ErrorCodes.SubnetExhausted, e.Code);
        Assert.Contains("2 /24 ranges of 10.50.0.0/23", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_OnlyTheOwnersClaim_IsFreed()
    {
        var (seed, _) = await SeedAsync();
        string ns = NewServiceId();
        var lan = await seed.Allocator.AllocateAsync(ns, TwoSlots, "owner", Live(), CancellationToken.None);

        await seed.Allocator.ReleaseAsync(ns, lan, "someone-else", CancellationToken.None);
        Assert.Single(await seed.Leases.ListAsync(ns, CancellationToken.None));

        await seed.Allocator.ReleaseAsync(ns, lan, "owner", CancellationToken.None);
        await seed.Allocator.ReleaseAsync(ns, lan, "owner", CancellationToken.None);
        Assert.Empty(await seed.Leases.ListAsync(ns, CancellationToken.None));
    }

    [Fact]
    public async Task Allocate_FixedOrNoLan_ClaimsNothing()
    {
        var (seed, _) = await SeedAsync();
        string ns = NewServiceId();

        var fixedLan = await seed.Allocator.AllocateAsync(ns, LanPlan.From(FleetSeed.Lan("192.168.0.0/24")), "x", Live(), CancellationToken.None);
        var none = await seed.Allocator.AllocateAsync(ns, LanPlan.From(NodeServiceNetwork.None), "y", Live(), CancellationToken.None);

        Assert.Equal("192.168.0.1/24", fixedLan!.InterfaceAddress);
        Assert.Null(none);
        Assert.Empty(await seed.Leases.ListAsync(ns, CancellationToken.None));
    }
}
