using GraphQL;
using GraphQL.Execution;
using GraphQL.Validation;

namespace Pipeline.Api.GraphQL;

/// <summary>
/// Every error carries <c>extensions.code</c> from the contract's list and nothing else: the
/// query language's own validation and parse errors become <c>BAD_INPUT</c>, anything
/// unexpected <c>INTERNAL</c> (its details stay in the logs); a request over the complexity or
/// depth limit is <c>TOO_LARGE</c>.
/// </summary>
public sealed class PipelineErrorInfoProvider : IErrorInfoProvider
{
    public ErrorInfo GetInfo(ExecutionError executionError)
    {
        string code = executionError.Code is { } c && ErrorCodes.All.Contains(c)
            ? c
            : executionError is global::GraphQL.Validation.Errors.Custom.ComplexityError
                ? ErrorCodes.TooLarge
                : executionError is DocumentError or ValidationError or SyntaxError or InvalidVariableError
                ? ErrorCodes.BadInput
                : ErrorCodes.Internal;
        string message = code == ErrorCodes.Internal && executionError.Code is not ErrorCodes.Internal
            ? "Internal error; see the service logs."
            : executionError.Message;
        return new ErrorInfo
        {
            Message = message,
            Extensions = new Dictionary<string, object?> { ["code"] = code },
        };
    }
}
