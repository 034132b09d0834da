using GraphQL.Types;

namespace Pipeline.Api.GraphQL;

/// <summary>The management API of API.md.</summary>
public sealed class PipelineSchema : Schema
{
    public PipelineSchema(IServiceProvider services, PipelineQuery query, PipelineMutation mutation) : base(services)
    {
        // Names are the contract's, verbatim (DM_..., snake_case): no camel-casing.
        NameConverter = global::GraphQL.Conversion.DefaultNameConverter.Instance;
        Query = query;
        Mutation = mutation;
    }
}
