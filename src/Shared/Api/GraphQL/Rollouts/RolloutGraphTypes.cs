using GraphQL.Types;
using Pipeline.Rollouts;

namespace Pipeline.Api.GraphQL.Rollouts;

/// <summary>API.md <c>Rollout</c>.</summary>
public sealed class RolloutGraphType : ObjectGraphType<RolloutRecord>
{
    public RolloutGraphType()
    {
        Name = "Rollout";
        Field<NonNullGraphType<IdGraphType>>("node_service_id").Resolve(c => c.Source.NodeServiceId);
        Field<NonNullGraphType<IntGraphType>>("container_version").Resolve(c => c.Source.Version);
        Field<NonNullGraphType<StringGraphType>>("state").Resolve(c => c.Source.State);
        Field<IntGraphType>("current_wave").Resolve(c => c.Source.CurrentWave);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<RolloutWaveGraphType>>>>("waves").Resolve(c => c.Source.Waves);
        Field<StringGraphType>("reason").Resolve(c => c.Source.Reason);
    }
}

/// <summary>API.md <c>RolloutWave</c>: the wave's cumulative percentage and its instances' health when last looked at.</summary>
public sealed class RolloutWaveGraphType : ObjectGraphType<RolloutWaveCounts>
{
    public RolloutWaveGraphType()
    {
        Name = "RolloutWave";
        Field<NonNullGraphType<IntGraphType>>("percent").Resolve(c => c.Source.Percent);
        Field<NonNullGraphType<IntGraphType>>("instances").Resolve(c => c.Source.Instances);
        Field<NonNullGraphType<IntGraphType>>("healthy").Resolve(c => c.Source.Healthy);
        Field<NonNullGraphType<IntGraphType>>("failed").Resolve(c => c.Source.Failed);
        Field<NonNullGraphType<IntGraphType>>("pending").Resolve(c => c.Source.Pending);
    }
}

/// <summary>API.md <c>RolloutPolicyInput</c>; <see cref="Pipeline.Fleet.Rollout.RolloutPolicy.Parse"/> validates it.</summary>
public sealed class RolloutPolicyInputGraphType : InputObjectGraphType
{
    public RolloutPolicyInputGraphType()
    {
        Name = "RolloutPolicyInput";
        Field<ListGraphType<NonNullGraphType<IntGraphType>>>("waves");
        Field<IntGraphType>("min_wave_instances");
        Field<IntGraphType>("soak_seconds");
        Field<FloatGraphType>("max_failure_percent");
        Field<IntGraphType>("report_timeout_seconds");
    }
}
