using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Api.Auth;
using Pipeline.Deployments;
using Pipeline.Fleet.Devices;
using Pipeline.Fleet.Instances;
using Pipeline.Fleet.Rollout;

namespace Pipeline.Api.GraphQL.Fleet;

/// <summary>
/// The fleet fields of the schema: devices, node service instances, rollout and update windows.
/// Changes need the <c>deploy</c> role of the customer that owns what they touch (an admin key
/// may do anything); the instance list also opens to <c>read</c>.
/// </summary>
public static class FleetFields
{
    public const int MaxPageSize = 500;

    public static void AddQueries(ObjectGraphType type)
    {
        type.Field<NonNullGraphType<NodeServiceInstancePageGraphType>>("DM_get_node_service_instances")
            .Argument<NonNullGraphType<IdGraphType>>("node_service_id")
            .Argument<IntGraphType>("take")
            .Argument<IntGraphType>("skip")
            .ResolveAsync(async c =>
            {
                int take = c.GetArgument<int?>("take") ?? 100;
                int skip = c.GetArgument<int?>("skip") ?? 0;
                if (take is < 0 or > MaxPageSize || skip < 0)
                {
                    throw new PipelineException(ErrorCodes.BadInput, $"take must be 0-{MaxPageSize} and skip not negative.");
                }
                var (page, total) = await Instances(c).ListAsync(c.GetArgument<string>("node_service_id"), skip, take,
                    Authorize(c, ApiRoles.Read, ApiRoles.Deploy), c.CancellationToken);
                return new NodeServiceInstancePage(page, total);
            });
    }

    public static void AddMutations(ObjectGraphType type)
    {
        type.Field<NonNullGraphType<DeviceGraphType>>("DM_register_device")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .Argument<NonNullGraphType<IdGraphType>>("device_id")
            .Argument<NonNullGraphType<StringGraphType>>("arch")
            .ResolveAsync(async c =>
            {
                var (device, key) = await Devices(c).RegisterAsync(
                    c.GetArgument<string>("customer_id"), c.GetArgument<string>("device_id"), c.GetArgument<string>("arch"),
                    Authorize(c, ApiRoles.Deploy), c.CancellationToken);
                return new DeviceResult(device, key);
            });

        type.Field<NonNullGraphType<StringGraphType>>("DM_create_device_key")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .Argument<NonNullGraphType<IdGraphType>>("device_id")
            .ResolveAsync(async c => await Devices(c).CreateKeyAsync(
                c.GetArgument<string>("customer_id"), c.GetArgument<string>("device_id"),
                Authorize(c, ApiRoles.Deploy), c.CancellationToken));

        type.Field<NonNullGraphType<NodeServiceInstanceGraphType>>("DM_add_node_service_instance")
            .Argument<NonNullGraphType<IdGraphType>>("node_service_id")
            .Argument<NonNullGraphType<IdGraphType>>("device_id")
            .Argument<JsonGraphType>("config_map")
            .ResolveAsync(async c =>
            {
                var added = await Instances(c).AddAsync(
                    c.GetArgument<string>("node_service_id"), c.GetArgument<string>("device_id"),
                    ConfigMapJson.ToJson(c.GetArgument<object?>("config_map")),
                    Authorize(c, ApiRoles.Deploy), c.CancellationToken);
                // The new instance gets its current version at once (or when its device's window opens).
                await DeploymentTriggers.StartAsync(Durable(c), added.Instance.CustomerId, [added.Instance.InstanceId], DeploymentTriggers.InstanceAdded, c.CancellationToken);
                return added;
            });

        type.Field<NonNullGraphType<BooleanGraphType>>("DM_remove_node_service_instance")
            .Argument<NonNullGraphType<IdGraphType>>("node_service_instance_id")
            .ResolveAsync(async c =>
            {
                await Instances(c).RemoveAsync(c.GetArgument<string>("node_service_instance_id"), Authorize(c, ApiRoles.Deploy), c.CancellationToken);
                return true;
            });

        type.Field<NonNullGraphType<BooleanGraphType>>("DM_update_node_service_instance_rollout_config")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<IdGraphType>>>>("node_service_instance_ids")
            .Argument<VersionTargetSelectorInputGraphType>("version_target_selector")
            .ResolveAsync(async c =>
            {
                var input = c.GetArgument<Dictionary<string, object?>?>("version_target_selector");
                var selector = VersionTargetSelector.Parse(input is not null && input.TryGetValue("value", out var v) ? v as string : null);
                var changed = await Instances(c).SetSelectorAsync(c.GetArgument<List<string>>("node_service_instance_ids"), selector,
                    Authorize(c, ApiRoles.Deploy), c.CancellationToken);
                foreach (var customer in changed.GroupBy(i => i.CustomerId, StringComparer.Ordinal))
                {
                    await DeploymentTriggers.StartAsync(Durable(c), customer.Key, customer.Select(i => i.InstanceId), DeploymentTriggers.SelectorChanged, c.CancellationToken);
                }
                return true;
            });

        type.Field<NonNullGraphType<BooleanGraphType>>("DM_set_device_update_window")
            .Argument<NonNullGraphType<IdGraphType>>("device_id")
            .Argument<TimeSpanInputGraphType>("time_span")
            .ResolveAsync(async c =>
            {
                var input = c.GetArgument<Dictionary<string, object?>?>("time_span");
                var window = input is null
                    ? null
                    : UpdateWindow.Parse(Text(input, "start"), Text(input, "end"), Text(input, "timezone"));
                var (device, instanceIds) = await Devices(c).SetUpdateWindowAsync(c.GetArgument<string>("device_id"), window, Authorize(c, ApiRoles.Deploy), c.CancellationToken);
                // Messages still waiting for the old window move to the new one.
                await DeploymentTriggers.StartAsync(Durable(c), device.CustomerId, instanceIds, DeploymentTriggers.WindowChanged, c.CancellationToken);
                return true;
            });
    }

    /// <summary>Throws FORBIDDEN unless the caller may act for a customer with one of <paramref name="roles"/>.</summary>
    private static Action<string> Authorize(IResolveFieldContext c, params string[] roles)
    {
        var caller = ApiUserContext.From(c).Caller;
        return customerId => caller.Require(customerId, roles);
    }

    private static Microsoft.DurableTask.Client.DurableTaskClient Durable(IResolveFieldContext c) => ApiUserContext.From(c).Durable;

    private static DeviceService Devices(IResolveFieldContext c) => c.RequestServices!.GetRequiredService<DeviceService>();

    private static NodeServiceInstanceService Instances(IResolveFieldContext c) => c.RequestServices!.GetRequiredService<NodeServiceInstanceService>();

    private static string? Text(Dictionary<string, object?> input, string key) => input.TryGetValue(key, out var v) ? v as string : null;
}
