using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Pipeline.Api.Devices;

namespace Pipeline.Functions;

/// <summary>HTTP adapters for the device routes of API.md "Devices"; the logic is <see cref="DeviceEndpoint"/>.</summary>
public sealed class DeviceFunctions(DeviceEndpoint devices)
{
    [Function("device_plan")]
    public async Task<IActionResult> Plan(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = DeviceRoutes.Plan)] HttpRequest request, string deviceId, string instanceId)
    {
        await devices.HandlePlanAsync(request.HttpContext, deviceId, instanceId);
        return new EmptyResult();
    }

    [Function("device_status")]
    public async Task<IActionResult> Status(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = DeviceRoutes.Status)] HttpRequest request, string deviceId, string instanceId,
        [DurableClient] DurableTaskClient durable)
    {
        await devices.HandleStatusAsync(request.HttpContext, deviceId, instanceId, durable);
        return new EmptyResult();
    }

    [Function("device_target")]
    public async Task<IActionResult> Target(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = DeviceRoutes.Target)] HttpRequest request, string deviceId)
    {
        await devices.HandleTargetAsync(request.HttpContext, deviceId);
        return new EmptyResult();
    }
}
