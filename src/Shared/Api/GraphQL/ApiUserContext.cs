using Microsoft.DurableTask.Client;
using Pipeline.Api.Auth;

namespace Pipeline.Api.GraphQL;

/// <summary>Per-request state the resolvers need: the authenticated caller and the host's durable client.</summary>
public sealed class ApiUserContext(ApiCaller caller, DurableTaskClient durable) : Dictionary<string, object?>
{
    public ApiCaller Caller { get; } = caller;

    public DurableTaskClient Durable { get; } = durable;

    /// <summary>The context of a resolver's request.</summary>
    public static ApiUserContext From(global::GraphQL.IResolveFieldContext context) => (ApiUserContext)context.UserContext;
}
