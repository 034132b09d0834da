using GraphQL.Types;
using Pipeline.Api.GraphQL.Fleet;
using Pipeline.Api.GraphQL.Imports;
using Pipeline.Api.GraphQL.Rollouts;
using Pipeline.Api.GraphQL.Webhooks;

namespace Pipeline.Api.GraphQL;

/// <summary>The root query type; each concern adds its own fields.</summary>
public sealed class PipelineQuery : ObjectGraphType
{
    public PipelineQuery()
    {
        Name = "Query";
        ImportFields.AddQueries(this);
        FleetFields.AddQueries(this);
        WebhookFields.AddQueries(this);
        RolloutFields.AddQueries(this);
    }
}

/// <summary>The root mutation type; each concern adds its own fields.</summary>
public sealed class PipelineMutation : ObjectGraphType
{
    public PipelineMutation()
    {
        Name = "Mutation";
        ImportFields.AddMutations(this);
        FleetFields.AddMutations(this);
        WebhookFields.AddMutations(this);
        RolloutFields.AddMutations(this);
    }
}
