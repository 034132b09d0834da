using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Pipeline.Api;

namespace Pipeline.Functions;

/// <summary>HTTP adapters: the routes of API.md under the Functions host's <c>/api</c> prefix.</summary>
public sealed class ApiFunctions(GraphQLEndpoint graphQL)
{
    [Function("graphql")]
    public async Task<IActionResult> GraphQL(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "graphql")] HttpRequest request,
        [DurableClient] DurableTaskClient durable)
    {
        await graphQL.HandleAsync(request.HttpContext, durable);
        return new EmptyResult();
    }

    /// <summary>Liveness, as LocalHost answers it.</summary>
    [Function("health")]
    public static IActionResult Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) =>
        new OkObjectResult(new { status = "ok" });
}
