using GraphQL.Types;
using Pipeline.Fleet.Instances;

namespace Pipeline.Api.GraphQL.Fleet;

/// <summary>API.md <c>NodeServiceInstance</c>.</summary>
public sealed class NodeServiceInstanceGraphType : ObjectGraphType<InstanceView>
{
    public NodeServiceInstanceGraphType()
    {
        Name = "NodeServiceInstance";
        Field<NonNullGraphType<IdGraphType>>("node_service_instance_id").Resolve(c => c.Source.Instance.InstanceId);
        Field<NonNullGraphType<IdGraphType>>("node_service_id").Resolve(c => c.Source.Instance.NodeServiceId);
        Field<NonNullGraphType<IdGraphType>>("device_id").Resolve(c => c.Source.Instance.DeviceId);
        Field<NonNullGraphType<StringGraphType>>("arch").Resolve(c => c.Source.Instance.Arch);
        Field<StringGraphType>("version_target_selector").Resolve(c => c.Source.Instance.Selector.ToApiValue());
        Field<IntGraphType>("target_version").Resolve(c => c.Source.TargetVersion);
        Field<LanAllocationGraphType>("lan").Resolve(c => c.Source.Instance.Lan);
        Field<JsonGraphType>("config_map").Resolve(c => ConfigMapJson.ToValue(c.Source.Instance.ConfigMapJson));
        Field<InstanceStatusGraphType>("status").Resolve(c => c.Source.Instance.Status);
    }
}
