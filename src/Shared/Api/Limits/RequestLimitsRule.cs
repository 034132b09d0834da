using GraphQL.Validation;
using GraphQLParser.AST;
using Microsoft.Extensions.Options;

namespace Pipeline.Api.Limits;

/// <summary>
/// Refuses, before any resolver runs, a GraphQL request with more aliased fields or top-level
/// fields than <see cref="ApiLimitOptions"/> allows: each alias or root field is another run of a
/// resolver, and a 1 MiB body could otherwise hold tens of thousands. The error's code is
/// <c>TOO_LARGE</c> and its message names the limit.
/// </summary>
public sealed class RequestLimitsRule(IOptions<ApiLimitOptions> options) : ValidationRuleBase
{
    public override ValueTask<INodeVisitor?> GetPreNodeVisitorAsync(ValidationContext context)
    {
        var o = options.Value;
        int aliases = 0;
        bool reported = false;
        return new ValueTask<INodeVisitor?>(new NodeVisitors(
            new MatchingNodeVisitor<GraphQLOperationDefinition>((operation, ctx) =>
            {
                int roots = operation.SelectionSet.Selections.Count;
                if (roots > o.MaxRootFields && !reported)
                {
                    reported = true;
                    Report(ctx, operation, $"The request has {roots} top-level fields; at most {o.MaxRootFields} are allowed (Pipeline:Limits:MaxRootFields).");
                }
            }),
            new MatchingNodeVisitor<GraphQLField>((field, ctx) =>
            {
                if (field.Alias is not null && ++aliases > o.MaxAliases && !reported)
                {
                    reported = true;
                    Report(ctx, field, $"The request has more than {o.MaxAliases} aliased fields (Pipeline:Limits:MaxAliases).");
                }
            })));
    }

    private static void Report(ValidationContext context, ASTNode node, string message) =>
        context.ReportError(new ValidationError(context.Document.Source, "limits", message, node) { Code = ErrorCodes.TooLarge });
}
