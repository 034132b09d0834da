using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Pipeline.Api;

/// <summary>
/// How the plain-HTTP routes (devices, webhooks) answer: JSON bodies, errors as
/// <c>{"error": {"code", "message"}}</c> with the contract's codes, and the HTTP status each code
/// means. Answers are per caller, so nothing along the way may cache them.
/// </summary>
public static class HttpAnswers
{
    /// <summary>
    /// Runs <paramref name="work"/> with a deadline of <paramref name="timeout"/> linked to the
    /// request's own cancellation. When the deadline (not the caller) stops it before anything was
    /// answered, <paramref name="onTimeout"/> writes the answer: a request never holds a worker
    /// longer than its route allows.
    /// </summary>
    public static async Task WithDeadlineAsync(HttpContext http, TimeSpan timeout, Func<CancellationToken, Task> work, Func<Task> onTimeout)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        deadline.CancelAfter(timeout);
        try
        {
            await work(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted)
        {
            await onTimeout().ConfigureAwait(false);
        }
    }

    /// <summary>An ISO 8601 UTC time with milliseconds, as the API shows times (<c>2026-11-30T21:32:48.776Z</c>).</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static async Task WriteJsonAsync(HttpContext http, int status, byte[] json)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        http.Response.Headers.CacheControl = "no-store";
        await http.Response.Body.WriteAsync(json, http.RequestAborted).ConfigureAwait(false);
    }

    public static Task WriteErrorAsync(HttpContext http, int status, string code, string message) =>
        WriteJsonAsync(http, status, JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse(new ErrorBody(code, message)), HttpAnswersJsonContext.Default.ErrorResponse));

    /// <summary>The error of a <see cref="PipelineException"/>, with the status its code means.</summary>
    public static Task WriteErrorAsync(HttpContext http, PipelineException e) => WriteErrorAsync(http, StatusOf(e.Code), e.Code, e.Detail);

    public static int StatusOf(string code) => code switch
    {
        ErrorCodes.BadInput => StatusCodes.Status400BadRequest,
        ErrorCodes.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        ErrorCodes.TooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCodes.ArchMismatch or ErrorCodes.Conflict => StatusCodes.Status409Conflict,
        ErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status500InternalServerError,
    };
}

/// <summary>The error body of the plain-HTTP routes.</summary>
public sealed record ErrorResponse([property: JsonPropertyName("error")] ErrorBody Error);

public sealed record ErrorBody(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message);

[JsonSerializable(typeof(ErrorResponse))]
internal sealed partial class HttpAnswersJsonContext : JsonSerializerContext;
