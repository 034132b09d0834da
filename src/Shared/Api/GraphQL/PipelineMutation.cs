using GraphQL;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Api.Auth;
using Pipeline.Api.GraphQL.Types;
using Pipeline.Imports;

namespace Pipeline.Api.GraphQL;

public sealed class PipelineMutation : ObjectGraphType
{
    public PipelineMutation()
    {
        Name = "Mutation";

        Field<NonNullGraphType<ApiKeyGraphType>>("DM_create_api_key")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .Argument<NonNullGraphType<ListGraphType<NonNullGraphType<StringGraphType>>>>("roles")
            .ResolveAsync(async c =>
            {
                PipelineQuery.Api(c).Caller.RequireAdmin();
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

        Field<NonNullGraphType<ImportGraphType>>("DM_import_node_service")
            .Argument<NonNullGraphType<IdGraphType>>("customer_id")
            .Argument<NonNullGraphType<NodeServiceInputGraphType>>("node_service_input")
            .ResolveAsync(async c =>
            {
                var api = PipelineQuery.Api(c);
                string customerId = Ids.ValidateCustomerId(c.GetArgument<string>("customer_id"));
                api.Caller.Require(customerId, ApiRoles.Import);
                var spec = NodeServiceInputParser.Parse(c.GetArgument<Dictionary<string, object?>>("node_service_input"));
                var view = await c.RequestServices!.GetRequiredService<ImportService>().StartAsync(customerId, spec, api.Durable, c.CancellationToken);
                return new ImportResult(view, null);
            });
    }
}
