using Microsoft.DurableTask.Client;
using Pipeline.Api.Auth;

namespace Pipeline.Api.GraphQL;

/// <summary>
/// Per-request state the resolvers need: the authenticated caller, the host's durable client, and
/// the origin the request came to (<c>https://host</c>), for URLs handed out (a webhook's).
/// </summary>
public sealed class ApiUserContext(ApiCaller caller, DurableTaskClient durable, string origin = "") : Dictionary<string, object?>
{
    public string Origin { get; } = origin;

    public ApiCaller Caller { get; } = caller;

    public DurableTaskClient Durable { get; } = durable;

    /// <summary>The context of a resolver's request.</summary>
    public static ApiUserContext From(global::GraphQL.IResolveFieldContext context) => (ApiUserContext)context.UserContext;
}
