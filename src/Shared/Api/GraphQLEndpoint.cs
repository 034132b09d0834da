using GraphQL;
using GraphQL.Transport;
using GraphQL.Types;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Pipeline.Api.Auth;
using Pipeline.Api.GraphQL;
using Pipeline.Api.Limits;
using Microsoft.Extensions.Options;

namespace Pipeline.Api;

/// <summary>
/// <c>POST /api/graphql</c>, host-agnostic: both hosts hand it the request and their durable
/// client. No key or an unknown key is HTTP 401 before the query is even parsed.
/// </summary>
public sealed partial class GraphQLEndpoint(
    ApiKeyStore keys,
    ApiRateLimiter limiter,
    IOptions<ApiLimitOptions> limits,
    IDocumentExecuter executer,
    ISchema schema,
    IGraphQLTextSerializer serializer,
    ILogger<GraphQLEndpoint> logger)
{

    public async Task HandleAsync(HttpContext http, DurableTaskClient durable)
    {
        string? key = RequestBodies.BearerKey(http.Request);
        // Counted before the key is even looked up: a flood costs a hash, not a storage read.
        if (key is not null && limiter.TryEnter(http, RateLimitScope.Key, ApiKeyStore.Hash(key)) is { } limited)
        {
            await WriteErrorAsync(http, StatusCodes.Status429TooManyRequests, limited.Code, limited.Detail).ConfigureAwait(false);
            return;
        }
        await HttpAnswers.WithDeadlineAsync(http, limits.Value.GraphQLTimeout, ct => HandleCoreAsync(http, key, durable, ct),
            () => WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Internal,
                $"The request took longer than {limits.Value.GraphQLTimeout.TotalSeconds:0} s and was stopped; try again or ask for less.")).ConfigureAwait(false);
    }

    private async Task HandleCoreAsync(HttpContext http, string? key, DurableTaskClient durable, CancellationToken ct)
    {
        var caller = await keys.AuthenticateAsync(key, ct).ConfigureAwait(false);
        if (caller is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await WriteErrorAsync(http, StatusCodes.Status401Unauthorized, ErrorCodes.Forbidden, "An API key is required: Authorization: Bearer <key>.").ConfigureAwait(false);
            return;
        }
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            await WriteErrorAsync(http, StatusCodes.Status405MethodNotAllowed, ErrorCodes.BadInput, "Use POST with a JSON body.").ConfigureAwait(false);
            return;
        }
        // Queries are small: a larger body is refused unread (by its Content-Length when it has one).
        int maxKiB = limits.Value.MaxGraphQLRequestKiB;
        var body = await RequestBodies.ReadBoundedAsync(http.Request, maxKiB * 1024L, ct).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(http, StatusCodes.Status413PayloadTooLarge, ErrorCodes.TooLarge,
                $"The request body is over {maxKiB} KiB (Pipeline:Limits:MaxGraphQLRequestKiB).").ConfigureAwait(false);
            return;
        }
        GraphQLRequest? request;
        try
        {
            request = serializer.Deserialize<GraphQLRequest>(System.Text.Encoding.UTF8.GetString(body.Value.Span));
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException or NotSupportedException)
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadInput, "The body must be JSON: {\"query\": \"...\", \"variables\": {...}}.").ConfigureAwait(false);
            return;
        }

        var (document, refusal) = RequestLimits.Check(request?.Query, limits.Value);
        if (refusal is not null)
        {
            await WriteErrorAsync(http, StatusCodes.Status200OK, refusal.Code, refusal.Detail).ConfigureAwait(false);
            return;
        }

        var result = await executer.ExecuteAsync(new ExecutionOptions
        {
            Schema = schema,
            Query = request?.Query,
            Document = document,
            OperationName = request?.OperationName,
            Variables = request?.Variables,
            UserContext = new ApiUserContext(caller, durable, $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}"),
            RequestServices = http.RequestServices,
            CancellationToken = ct,
            UnhandledExceptionDelegate = context =>
            {
                if (context.OriginalException is PipelineException p)
                {
                    context.Exception = ApiError.From(p);
                }
                else
                {
                    LogUnhandled(logger, context.OriginalException);
                }
                return Task.CompletedTask;
            },
        }).ConfigureAwait(false);

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/json; charset=utf-8";
        await serializer.WriteAsync(http.Response.Body, result, ct).ConfigureAwait(false);
    }

    private async Task WriteErrorAsync(HttpContext http, int status, string code, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        var result = new ExecutionResult { Errors = [new ApiError(code, message)] };
        await serializer.WriteAsync(http.Response.Body, result, http.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error in a GraphQL resolver")]
    private static partial void LogUnhandled(ILogger logger, Exception exception);
}
