using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Api.Auth;
using Pipeline.Api.GraphQL.Types;
using Pipeline.Fleet;
using Pipeline.Imports;

namespace Pipeline.Api.GraphQL;

public sealed class PipelineQuery : ObjectGraphType
{
    public const int MaxPageSize = 500;

    public PipelineQuery()
    {
        Name = "Query";

        Field<NonNullGraphType<NodeServicePageGraphType>>("DM_get_node_services")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .Argument<IntGraphType>("take")
            .Argument<IntGraphType>("skip")
            .ResolveAsync(async c =>
            {
                string customerId = Ids.ValidateCustomerId(c.GetArgument<string>("customer_id"));
                Api(c).Caller.Require(customerId, ApiRoles.Read);
                int take = c.GetArgument<int?>("take") ?? 100;
                int skip = c.GetArgument<int?>("skip") ?? 0;
                if (take is < 0 or > MaxPageSize || skip < 0)
                {
                    throw new PipelineException(ErrorCodes.BadInput, $"take must be 0-{MaxPageSize} and skip not negative.");
                }
                var (page, total) = await c.RequestServices!.GetRequiredService<NodeServiceStore>().ListAsync(customerId, skip, take, c.CancellationToken);
                return new NodeServicePage(page, total);
            });

        Field<NonNullGraphType<ImportGraphType>>("DM_get_import")
            .Argument<NonNullGraphType<IdGraphType>>("import_id")
            .ResolveAsync(async c =>
            {
                var api = Api(c);
                string importId = c.GetArgument<string>("import_id");
                var found = await c.RequestServices!.GetRequiredService<ImportService>().GetAsync(importId, api.Durable, c.CancellationToken);
                if (found is not { } f)
                {
                    throw new PipelineException(ErrorCodes.NotFound, $"No import '{importId}'.");
                }
                // The key that may start an import may also watch it.
                api.Caller.Require(f.View.CustomerId, ApiRoles.Read, ApiRoles.Import);
                return new ImportResult(f.View, f.Version);
            });
    }

    internal static ApiUserContext Api(IResolveFieldContext c) => (ApiUserContext)c.UserContext;
}
