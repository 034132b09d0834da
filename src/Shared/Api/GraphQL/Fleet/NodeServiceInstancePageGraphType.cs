using GraphQL.Types;
using Pipeline.Fleet.Instances;

namespace Pipeline.Api.GraphQL.Fleet;

public sealed record NodeServiceInstancePage(IReadOnlyList<InstanceView> Instances, int Total);

/// <summary>API.md <c>NodeServiceInstancePage { instances, total }</c>.</summary>
public sealed class NodeServiceInstancePageGraphType : ObjectGraphType<NodeServiceInstancePage>
{
    public NodeServiceInstancePageGraphType()
    {
        Name = "NodeServiceInstancePage";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<NodeServiceInstanceGraphType>>>>("instances").Resolve(c => c.Source.Instances);
        Field<NonNullGraphType<IntGraphType>>("total").Resolve(c => c.Source.Total);
    }
}
