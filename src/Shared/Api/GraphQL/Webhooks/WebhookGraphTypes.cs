using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Webhooks;

namespace Pipeline.Api.GraphQL.Webhooks;

/// <summary>A webhook as the API shows it: its URL, and its secret only in the answer that issues it.</summary>
public sealed record WebhookView(Webhook Webhook, string Url, string? Secret);

/// <summary>API.md <c>Webhook</c>, plus its latest deliveries.</summary>
public sealed class WebhookGraphType : ObjectGraphType<WebhookView>
{
    public const int MaxDeliveries = 100;

    public WebhookGraphType()
    {
        Name = "Webhook";
        Field<NonNullGraphType<StringGraphType>>("provider").Resolve(c => c.Source.Webhook.Provider);
        Field<NonNullGraphType<StringGraphType>>("registry").Resolve(c => c.Source.Webhook.Registry);
        Field<NonNullGraphType<StringGraphType>>("url").Resolve(c => c.Source.Url);
        Field<StringGraphType>("secret").Resolve(c => c.Source.Secret);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<WebhookDeliveryGraphType>>>>("deliveries")
            .Description("The latest deliveries, newest first: what each came to and which imports it started.")
            .Argument<IntGraphType>("take")
            .ResolveAsync(async c =>
            {
                int take = c.GetArgument<int?>("take") ?? 20;
                if (take is < 0 or > MaxDeliveries)
                {
                    throw new PipelineException(ErrorCodes.BadInput, $"take must be 0-{MaxDeliveries}.");
                }
                var w = c.Source.Webhook;
                return await c.RequestServices!.GetRequiredService<WebhookDeliveryStore>().LatestAsync(w.CustomerId, w.Provider, take, c.CancellationToken);
            });
    }
}

/// <summary>One delivery of a webhook: when, its id, the outcome and message, and the imports it started or joined.</summary>
public sealed class WebhookDeliveryGraphType : ObjectGraphType<WebhookDelivery>
{
    public WebhookDeliveryGraphType()
    {
        Name = "WebhookDelivery";
        Field<NonNullGraphType<StringGraphType>>("received_at").Resolve(c => HttpAnswers.Time(c.Source.ReceivedAt));
        Field<StringGraphType>("delivery_id").Resolve(c => c.Source.DeliveryId);
        Field<NonNullGraphType<StringGraphType>>("outcome").Description("imports_started | no_match | not_a_push | replay_ignored | stale_refused").Resolve(c => c.Source.Outcome);
        Field<NonNullGraphType<StringGraphType>>("message").Resolve(c => c.Source.Message);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<WebhookImportGraphType>>>>("imports").Resolve(c => c.Source.Imports);
    }
}

public sealed class WebhookImportGraphType : ObjectGraphType<StartedImport>
{
    public WebhookImportGraphType()
    {
        Name = "WebhookImport";
        Field<NonNullGraphType<IdGraphType>>("node_service_id").Resolve(c => c.Source.NodeServiceId);
        Field<NonNullGraphType<IdGraphType>>("import_id").Resolve(c => c.Source.ImportId);
    }
}
