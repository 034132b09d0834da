using Pipeline.Tests.Fixtures;

namespace Pipeline.Tests.Fleet;

/// <summary>The fleet's API tests share one LocalHost (and keep apart by customer id).</summary>
[CollectionDefinition(Name)]
public sealed class FleetApiCollection : ICollectionFixture<PipelineFixture>
{
    public const string Name = "Fleet API";
}
