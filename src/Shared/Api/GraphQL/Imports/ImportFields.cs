using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Api.Auth;
using Pipeline.Api.GraphQL.Types;
using Pipeline.Fleet;
using Pipeline.Imports;

namespace Pipeline.Api.GraphQL.Imports;

/// <summary>The import and catalog fields of the schema: keys, imports, node services.</summary>
public static class ImportFields
{
    public const int MaxPageSize = 500;

    public static void AddQueries(ObjectGraphType type)
    {
        type.Field<NonNullGraphType<NodeServicePageGraphType>>("DM_get_node_services")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .Argument<IntGraphType>("take")
            .Argument<IntGraphType>("skip")
            .ResolveAsync(async c =>
            {
                string customerId = Ids.ValidateCustomerId(c.GetArgument<string>("customer_id"));
                ApiUserContext.From(c).Caller.Require(customerId, ApiRoles.Read);
                int take = c.GetArgument<int?>("take") ?? 100;
                int skip = c.GetArgument<int?>("skip") ?? 0;
                if (take is < 0 or > MaxPageSize || skip < 0)
                {
                    throw new PipelineException(ErrorCodes.BadInput, $"take must be 0-{MaxPageSize} and skip not negative.");
                }
                var (page, total) = await c.RequestServices!.GetRequiredService<NodeServiceStore>().ListAsync(customerId, skip, take, c.CancellationToken);
                return new NodeServicePage(page, total);
            });

        type.Field<NonNullGraphType<ImportGraphType>>("DM_get_import")
            .Argument<NonNullGraphType<IdGraphType>>("import_id")
            .ResolveAsync(async c =>
            {
                var api = ApiUserContext.From(c);
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

    public static void AddMutations(ObjectGraphType type)
    {
        type.Field<NonNullGraphType<ApiKeyGraphType>>("DM_create_api_key")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("roles")
            .ResolveAsync(async c =>
            {
                ApiUserContext.From(c).Caller.RequireAdmin();
                string customerId = Ids.ValidateCustomerId(c.GetArgument<string>("customer_id"));
                var roles = c.GetArgument<List<string>>("roles").Distinct(StringComparer.Ordinal).ToList();
                // A tenant key with the admin role would open every customer: admin stays in configuration.
                if (roles.Count == 0 || roles.Any(r => r == ApiRoles.Admin || !ApiRoles.All.Contains(r)))
                {
                    throw new PipelineException(ErrorCodes.BadInput, "roles: give one or more of import, read, deploy.");
                }
                string key = await c.RequestServices!.GetRequiredService<ApiKeyStore>().CreateAsync(customerId, roles, c.CancellationToken);
                return new ApiKeyResult(key, customerId, roles);
            });

        type.Field<NonNullGraphType<ImportGraphType>>("DM_import_node_service")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .Argument<NonNullGraphType<NodeServiceInputGraphType>>("node_service_input")
            .ResolveAsync(async c =>
            {
                var api = ApiUserContext.From(c);
                string customerId = Ids.ValidateCustomerId(c.GetArgument<string>("customer_id"));
                api.Caller.Require(customerId, ApiRoles.Import);
                var spec = NodeServiceInputParser.Parse(c.GetArgument<Dictionary<string, object?>>("node_service_input"));
                var view = await c.RequestServices!.GetRequiredService<ImportService>().StartAsync(customerId, spec, api.Durable, c.CancellationToken);
                return new ImportResult(view, null);
            });
    }
}
