using GraphQL.Types;
using Pipeline.Fleet;

namespace Pipeline.Api.GraphQL.Types;

public sealed record NodeServicePage(IReadOnlyList<NodeService> Services, int Total);

public sealed class NodeServiceGraphType : ObjectGraphType<NodeService>
{
    public NodeServiceGraphType()
    {
        Name = "NodeService";
        Field<NonNullGraphType<StringGraphType>>("name").Resolve(c => c.Source.Name);
        Field<NonNullGraphType<IdGraphType>>("node_service_id").Resolve(c => c.Source.NodeServiceId);
        Field<IntGraphType>("container_version").Resolve(c => c.Source.ContainerVersion);
        Field<StringGraphType>("container_image").Resolve(c => c.Source.ContainerImage);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("architectures").Resolve(c => c.Source.Architectures);
    }
}

public sealed class NodeServicePageGraphType : ObjectGraphType<NodeServicePage>
{
    public NodeServicePageGraphType()
    {
        Name = "NodeServicePage";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<NodeServiceGraphType>>>>("services").Resolve(c => c.Source.Services);
        Field<NonNullGraphType<IntGraphType>>("total").Resolve(c => c.Source.Total);
    }
}

public sealed record ApiKeyResult(string Key, string CustomerId, IReadOnlyList<string> Roles);

public sealed class ApiKeyGraphType : ObjectGraphType<ApiKeyResult>
{
    public ApiKeyGraphType()
    {
        Name = "ApiKey";
        Field<NonNullGraphType<StringGraphType>>("key").Resolve(c => c.Source.Key);
        Field<NonNullGraphType<IdGraphType>>("customer_id").Resolve(c => c.Source.CustomerId);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("roles").Resolve(c => c.Source.Roles);
    }
}
