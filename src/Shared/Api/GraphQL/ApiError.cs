using GraphQL;

namespace Pipeline.Api.GraphQL;

/// <summary>A GraphQL error with the contract's code, made from a <see cref="PipelineException"/>.</summary>
public sealed class ApiError : ExecutionError
{
    public ApiError(string code, string message) : base(message)
    {
        Code = code;
    }

    public static ApiError From(PipelineException e) => new(e.Code, e.Detail);
}
