using GraphQL.Types;
using Pipeline.Fleet.Devices;

namespace Pipeline.Api.GraphQL.Fleet;

/// <summary>A device and, only in the answer that issues it, its key.</summary>
public sealed record DeviceResult(Device Device, string? DeviceKey);

/// <summary>API.md <c>type Device { device_id: ID!  arch: String!  device_key: String }</c>.</summary>
public sealed class DeviceGraphType : ObjectGraphType<DeviceResult>
{
    public DeviceGraphType()
    {
        Name = "Device";
        Field<NonNullGraphType<IdGraphType>>("device_id").Resolve(c => c.Source.Device.DeviceId);
        Field<NonNullGraphType<StringGraphType>>("arch").Resolve(c => c.Source.Device.Arch);
        Field<StringGraphType>("device_key").Resolve(c => c.Source.DeviceKey);
    }
}
