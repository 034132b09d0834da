using Pipeline.Fleet.Instances;
using Pipeline.Oci;

namespace Pipeline.Fleet.Devices;

/// <summary>
/// Registering devices, rotating their keys and setting their update windows (API.md
/// <c>DM_register_device</c>, <c>DM_create_device_key</c>, <c>DM_set_device_update_window</c>).
/// Callers pass <c>authorize</c>, which throws <c>FORBIDDEN</c> unless the caller may act for
/// the customer given.
/// </summary>
public sealed class DeviceService(DeviceStore devices, NodeServiceInstanceStore instances)
{
    /// <summary>Records a device for a customer; its key is in the answer and nowhere else.</summary>
    public async Task<(Device Device, string Key)> RegisterAsync(string customerId, string deviceId, string arch, Action<string> authorize, CancellationToken cancellationToken)
    {
        Ids.ValidateCustomerId(customerId);
        authorize(customerId);
        ValidateDeviceId(deviceId);
        if (!Architectures.IsKnown(arch))
        {
            throw new PipelineException(ErrorCodes.BadInput, $"arch: '{arch}' is not one of amd64, armhf, arm64.");
        }
        return await devices.RegisterAsync(customerId, deviceId, arch, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Issues a new key for a customer's device; the previous key stops working.</summary>
    public async Task<string> CreateKeyAsync(string customerId, string deviceId, Action<string> authorize, CancellationToken cancellationToken)
    {
        Ids.ValidateCustomerId(customerId);
        authorize(customerId);
        ValidateDeviceId(deviceId);
        var device = await devices.GetAsync(deviceId, cancellationToken).ConfigureAwait(false)
            ?? throw new PipelineException(ErrorCodes.NotFound, $"Device '{deviceId}' is not registered.");
        if (device.CustomerId != customerId)
        {
            throw new PipelineException(ErrorCodes.Forbidden, $"Device '{deviceId}' belongs to another customer.");
        }
        return await devices.RotateKeyAsync(deviceId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets a device's update window, or clears it with null; returns the device and the ids of its instances.</summary>
    public async Task<(Device Device, IReadOnlyList<string> InstanceIds)> SetUpdateWindowAsync(string deviceId, UpdateWindow? window, Action<string> authorize, CancellationToken cancellationToken)
    {
        ValidateDeviceId(deviceId);
        var device = await devices.GetAsync(deviceId, cancellationToken).ConfigureAwait(false)
            ?? throw new PipelineException(ErrorCodes.NotFound, $"Device '{deviceId}' is not registered.");
        authorize(device.CustomerId);
        await devices.SetUpdateWindowAsync(deviceId, window, cancellationToken).ConfigureAwait(false);
        // The device's instances keep a copy (what a fan-out reads); written before the caller starts one.
        var instanceIds = await devices.ListInstanceIdsAsync(deviceId, cancellationToken).ConfigureAwait(false);
        await Parallel.ForEachAsync(instanceIds, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (id, ct) => await instances.TrySetDeviceWindowAsync(id, window, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return (device, instanceIds);
    }

    /// <summary>Device ids become table keys: 1-128 letters, digits, '_', '.', ':' or '-'.</summary>
    public static string ValidateDeviceId(string? deviceId, string field = "device_id") =>
        Ids.IsSafeKey(deviceId)
            ? deviceId!
            : throw new PipelineException(ErrorCodes.BadInput, $"{field}: use 1-128 letters, digits, '_', '.', ':' or '-'.");
}
