using GraphQL.Types;

namespace Pipeline.Api.GraphQL.Fleet;

/// <summary>The fleet fields of the schema: devices, node service instances, rollout and update windows.</summary>
public static class FleetFields
{
    public static void AddQueries(ObjectGraphType type)
    {
    }

    public static void AddMutations(ObjectGraphType type)
    {
    }
}
