using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Api.Auth;
using Pipeline.Oci;
using Pipeline.Webhooks;

namespace Pipeline.Api.GraphQL.Webhooks;

/// <summary>
/// <c>DM_create_webhook</c> (role <c>import</c>; creating it again rotates the secret) and
/// <c>DM_get_webhooks</c> (role <c>read</c> or <c>import</c>), with each webhook's latest deliveries.
/// </summary>
public static class WebhookFields
{
    public static void AddQueries(ObjectGraphType type)
    {
        type.Field<NonNullGraphType<ListGraphType<NonNullGraphType<WebhookGraphType>>>>("DM_get_webhooks")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .ResolveAsync(async c =>
            {
                string customerId = Ids.ValidateCustomerId(c.GetArgument<string>("customer_id"));
                var api = ApiUserContext.From(c);
                api.Caller.Require(customerId, ApiRoles.Read, ApiRoles.Import);
                var all = await c.RequestServices!.GetRequiredService<WebhookStore>().ListAsync(customerId, c.CancellationToken);
                return all.Select(w => new WebhookView(w, Url(api.Origin, w, null), null)).ToList();
            });
    }

    public static void AddMutations(ObjectGraphType type)
    {
        type.Field<NonNullGraphType<WebhookGraphType>>("DM_create_webhook")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .Argument<NonNullGraphType<StringGraphType>>("provider")
            .Argument<StringGraphType>("registry")
            .ResolveAsync(async c =>
            {
                string customerId = Ids.ValidateCustomerId(c.GetArgument<string>("customer_id"));
                var api = ApiUserContext.From(c);
                api.Caller.Require(customerId, ApiRoles.Import);
                string provider = c.GetArgument<string>("provider");
                if (!WebhookProviders.IsKnown(provider))
                {
                    throw new PipelineException(ErrorCodes.BadInput, $"provider: '{provider}' is not one of {string.Join(", ", WebhookProviders.Names)}.");
                }
                string registry = Registry(c.GetArgument<string?>("registry")) ?? WebhookProviders.DefaultRegistry(provider) ?? "";
                var (webhook, secret) = await c.RequestServices!.GetRequiredService<WebhookStore>().CreateAsync(customerId, provider, registry, c.CancellationToken);
                return new WebhookView(webhook, Url(api.Origin, webhook, secret), secret);
            });
    }

    /// <summary>
    /// The URL to give the registry. Docker Hub cannot send headers, so its URL carries the secret
    /// as <c>?token=</c> (and is therefore only shown whole in the answer that issues the secret).
    /// </summary>
    private static string Url(string origin, Webhook webhook, string? secret) =>
        origin + webhook.Path + (webhook.Provider == WebhookProviders.DockerHub && secret is not null ? "?token=" + Uri.EscapeDataString(secret) : "");

    /// <summary>A registry host (<c>host[:port]</c>), normalised like image references; <c>BAD_INPUT</c> otherwise.</summary>
    private static string? Registry(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        try
        {
            string host = text.Trim().ToLowerInvariant();
            var reference = ImageReference.Parse(host + "/x:1");
            // A bare word reads as a Docker Hub repository, not a host.
            return reference.Registry != ImageReference.DockerHub || host is "docker.io" or "index.docker.io"
                ? reference.Registry
                : throw new PipelineException(ErrorCodes.BadInput, "not a host");
        }
        catch (PipelineException)
        {
            throw new PipelineException(ErrorCodes.BadInput, $"registry: '{text}' is not a registry host such as ghcr.io or harbor.example.com:8443.");
        }
    }
}
