using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Pipeline.Api.Webhooks;

namespace Pipeline.Functions;

/// <summary>HTTP adapter for registry push webhooks (API.md "Registry webhooks"); the logic is <see cref="WebhookEndpoint"/>.</summary>
public sealed class WebhookFunctions(WebhookEndpoint webhooks)
{
    [Function("webhook")]
    public async Task<IActionResult> Webhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "webhooks/{provider}/{customerId}")] HttpRequest request,
        string provider,
        string customerId,
        [DurableClient] DurableTaskClient durable)
    {
        await webhooks.HandleAsync(request.HttpContext, provider, customerId, durable);
        return new EmptyResult();
    }
}
