using GraphQL.Types;
using Pipeline.Fleet.Instances;

namespace Pipeline.Api.GraphQL.Fleet;

/// <summary>API.md <c>InstanceStatus</c>: the device's last report; <c>reported_at</c> is ISO 8601 UTC.</summary>
public sealed class InstanceStatusGraphType : ObjectGraphType<InstanceStatus>
{
    public InstanceStatusGraphType()
    {
        Name = "InstanceStatus";
        Field<NonNullGraphType<IntGraphType>>("container_version").Resolve(c => c.Source.ContainerVersion);
        Field<NonNullGraphType<StringGraphType>>("state").Resolve(c => c.Source.State);
        Field<NonNullGraphType<BooleanGraphType>>("healthy").Resolve(c => c.Source.Healthy);
        Field<StringGraphType>("message").Resolve(c => c.Source.Message);
        Field<NonNullGraphType<StringGraphType>>("reported_at").Resolve(c => HttpAnswers.Time(c.Source.ReportedAt));
    }
}
