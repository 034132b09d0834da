using Microsoft.AspNetCore.Mvc;
using Microsoft.DurableTask.Client;
using Pipeline.Api;
using Pipeline.Api.Devices;
using Pipeline.Api.Webhooks;

namespace Pipeline.LocalHost;

/// <summary>
/// LocalHost's HTTP routes: the same as the Functions app's triggers (under <c>/api</c>), each
/// handing the request to the shared endpoint. A test holds the two route lists together.
/// </summary>
public static class ApiRoutes
{
    public static IEndpointRouteBuilder MapPipelineApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/graphql", (HttpContext http, [FromServices] GraphQLEndpoint endpoint, [FromServices] DurableTaskClient durable) =>
            endpoint.HandleAsync(http, durable));
        app.MapPost("/api/" + DeviceRoutes.Plan, (HttpContext http, string deviceId, string instanceId, [FromServices] DeviceEndpoint endpoint) =>
            endpoint.HandlePlanAsync(http, deviceId, instanceId));
        app.MapPost("/api/" + DeviceRoutes.Status, (HttpContext http, string deviceId, string instanceId, [FromServices] DeviceEndpoint endpoint, [FromServices] DurableTaskClient durable) =>
            endpoint.HandleStatusAsync(http, deviceId, instanceId, durable));
        app.MapGet("/api/" + DeviceRoutes.Target, (HttpContext http, string deviceId, [FromServices] DeviceEndpoint endpoint) =>
            endpoint.HandleTargetAsync(http, deviceId));
        app.MapPost("/api/webhooks/{provider}/{customerId}", (HttpContext http, string provider, string customerId, [FromServices] WebhookEndpoint endpoint, [FromServices] DurableTaskClient durable) =>
            endpoint.HandleAsync(http, provider, customerId, durable));
        app.MapGet("/api/health", () => Results.Ok(new { status = "ok" }));
        return app;
    }
}
