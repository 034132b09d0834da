using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Api.Auth;
using Pipeline.Fleet.Rollout;
using Pipeline.Rollouts;

namespace Pipeline.Api.GraphQL.Rollouts;

/// <summary>
/// The rollout fields: <c>DM_get_rollout</c> (role <c>read</c> or <c>deploy</c>) and
/// <c>DM_update_node_service_rollout_policy</c> (role <c>deploy</c>).
/// </summary>
public static class RolloutFields
{
    public static void AddQueries(ObjectGraphType type)
    {
        type.Field<NonNullGraphType<RolloutGraphType>>("DM_get_rollout")
            .Argument<NonNullGraphType<IdGraphType>>("node_service_id")
            .Argument<NonNullGraphType<IntGraphType>>("container_version")
            .ResolveAsync(async c => await Rollouts(c).GetAsync(c.GetArgument<string>("node_service_id"), c.GetArgument<int>("container_version"),
                Authorize(c, ApiRoles.Read, ApiRoles.Deploy), c.CancellationToken));
    }

    public static void AddMutations(ObjectGraphType type)
    {
        type.Field<NonNullGraphType<BooleanGraphType>>("DM_update_node_service_rollout_policy")
            .Argument<NonNullGraphType<IdGraphType>>("node_service_id")
            .Argument<NonNullGraphType<RolloutPolicyInputGraphType>>("rollout_policy")
            .ResolveAsync(async c =>
            {
                var policy = RolloutPolicy.Parse(c.GetArgument<Dictionary<string, object?>>("rollout_policy"));
                await Rollouts(c).SetPolicyAsync(c.GetArgument<string>("node_service_id"), policy, Authorize(c, ApiRoles.Deploy), c.CancellationToken);
                return true;
            });
    }

    private static Action<string> Authorize(IResolveFieldContext c, params string[] roles)
    {
        var caller = ApiUserContext.From(c).Caller;
        return customerId => caller.Require(customerId, roles);
    }

    private static RolloutService Rollouts(IResolveFieldContext c) => c.RequestServices!.GetRequiredService<RolloutService>();
}
