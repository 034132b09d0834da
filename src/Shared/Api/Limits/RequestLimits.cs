using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;

namespace Pipeline.Api.Limits;

/// <summary>
/// The size of a GraphQL request, measured on its syntax tree before GraphQL.NET validates it:
/// top-level fields, aliased fields and nesting depth. Validating a flood costs more than refusing
/// it (a 5,000-alias request takes GraphQL.NET's validation about 200 ms), so a request over
/// <see cref="ApiLimitOptions"/> is refused from the parse alone, with <c>TOO_LARGE</c> naming the
/// limit; complexity is left to GraphQL.NET's analyzer, which only requests within these bounds reach.
/// </summary>
public static class RequestLimits
{
    /// <summary>The parsed document, or a <c>TOO_LARGE</c> (or, for bad syntax, null: validation reports it) refusal.</summary>
    public static (GraphQLDocument? Document, PipelineException? Refusal) Check(string? query, ApiLimitOptions limits)
    {
        if (string.IsNullOrEmpty(query))
        {
            return (null, null);
        }
        GraphQLDocument document;
        try
        {
            document = Parser.Parse(query, new ParserOptions { Ignore = IgnoreOptions.Comments, MaxDepth = limits.MaxQueryDepth * 4 + 16 });
        }
        catch (GraphQLMaxDepthExceededException)
        {
            return (null, TooLarge($"The request nests deeper than {limits.MaxQueryDepth} (Pipeline:Limits:MaxQueryDepth)."));
        }
        catch (GraphQLParserException)
        {
            // GraphQL.NET parses it again and answers with its own syntax error.
            return (null, null);
        }
        foreach (var operation in document.Definitions.OfType<GraphQLOperationDefinition>())
        {
            int roots = operation.SelectionSet.Selections.Count;
            if (roots > limits.MaxRootFields)
            {
                return (null, TooLarge($"The request has {roots} top-level fields; at most {limits.MaxRootFields} are allowed (Pipeline:Limits:MaxRootFields)."));
            }
        }
        int aliases = 0, deepest = 0;
        foreach (var definition in document.Definitions)
        {
            if (definition is IHasSelectionSetNode { SelectionSet: { } set })
            {
                Walk(set, 1, ref aliases, ref deepest);
            }
        }
        if (aliases > limits.MaxAliases)
        {
            return (null, TooLarge($"The request has {aliases} aliased fields; at most {limits.MaxAliases} are allowed (Pipeline:Limits:MaxAliases)."));
        }
        if (deepest > limits.MaxQueryDepth)
        {
            return (null, TooLarge($"The request nests fields {deepest} deep; at most {limits.MaxQueryDepth} (Pipeline:Limits:MaxQueryDepth)."));
        }
        return (document, null);
    }

    private static void Walk(GraphQLSelectionSet set, int depth, ref int aliases, ref int deepest)
    {
        deepest = Math.Max(deepest, depth);
        foreach (var selection in set.Selections)
        {
            switch (selection)
            {
                case GraphQLField field:
                    aliases += field.Alias is null ? 0 : 1;
                    if (field.SelectionSet is { } inner)
                    {
                        Walk(inner, depth + 1, ref aliases, ref deepest);
                    }
                    break;
                case GraphQLInlineFragment { SelectionSet: { } fragment }:
                    Walk(fragment, depth, ref aliases, ref deepest);
                    break;
            }
        }
    }

    private static PipelineException TooLarge(string message) => new(ErrorCodes.TooLarge, message);
}
