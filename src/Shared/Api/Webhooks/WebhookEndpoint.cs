using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Api.Limits;
using Pipeline.Webhooks;

namespace Pipeline.Api.Webhooks;

/// <summary>The answer to a delivery: the imports it started or joined.</summary>
public sealed record WebhookResponse([property: JsonPropertyName("imports")] IReadOnlyList<WebhookResponseImport> Imports);

public sealed record WebhookResponseImport(
    [property: JsonPropertyName("node_service_id")] string NodeServiceId,
    [property: JsonPropertyName("import_id")] string ImportId);

[JsonSerializable(typeof(WebhookResponse))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;

/// <summary>
/// <c>POST /api/webhooks/{provider}/{customer_id}</c> (API.md "Registry webhooks"), host-agnostic.
/// The proof is checked before anything else is believed: an unknown webhook, a missing or wrong
/// token, a bad signature is 401 and nothing is read further. Then a body over 1 MiB or one the
/// provider's parser refuses is 400, a delivery that says it happened more than a day ago is 401
/// (stale), and only then are imports started: 202 with them, or 200 with none.
/// </summary>
public sealed partial class WebhookEndpoint(WebhookStore webhooks, WebhookService service, ApiRateLimiter limiter, IOptions<ApiLimitOptions> limits, TimeProvider time, ILogger<WebhookEndpoint> logger)
{
    public const long MaxBodyBytes = 1024 * 1024;

    /// <summary>A signed body is hashed to the end even when too large, so a wrong signature still reads 401; beyond this it is not read at all.</summary>
    private const long MaxHashedBytes = 16 * 1024 * 1024;

    /// <summary>How old a delivery may say it is; an older one is a replay of a captured request.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(1);

    private const string Stale = "stale_refused";

    public async Task HandleAsync(HttpContext http, string provider, string customerId, DurableTaskClient durable)
    {
        if (limiter.TryEnter(http, RateLimitScope.Webhook, customerId + "|" + provider) is { } limited)
        {
            await HttpAnswers.WriteErrorAsync(http, limited).ConfigureAwait(false);
            return;
        }
        await HttpAnswers.WithDeadlineAsync(http, limits.Value.WebhookTimeout, ct => HandleCoreAsync(http, provider, customerId, durable, ct),
            () => HttpAnswers.WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Internal,
                $"The delivery took longer than {limits.Value.WebhookTimeout.TotalSeconds:0} s and was stopped; the registry may retry it.")).ConfigureAwait(false);
    }

    private async Task HandleCoreAsync(HttpContext http, string provider, string customerId, DurableTaskClient durable, CancellationToken ct)
    {
        try
        {
            if (!WebhookProviders.IsKnown(provider))
            {
                await HttpAnswers.WriteErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.BadInput,
                    $"Unknown provider '{Shorten(provider)}'; use one of {string.Join(", ", WebhookProviders.Names)}.").ConfigureAwait(false);
                return;
            }
            var webhook = await webhooks.GetAsync(customerId, provider, ct).ConfigureAwait(false);
            string? secret = webhook is null ? null : await webhooks.SecretAsync(webhook, ct).ConfigureAwait(false);
            var (proven, body) = secret is null
                ? (false, null)
                : WebhookProviders.SignsBody(provider)
                    ? await ReadSignedAsync(http.Request, secret, ct).ConfigureAwait(false)
                    : await ReadWithTokenAsync(http.Request, provider, secret, ct).ConfigureAwait(false);
            if (!proven)
            {
                await HttpAnswers.WriteErrorAsync(http, StatusCodes.Status401Unauthorized, ErrorCodes.Forbidden,
                    "The delivery's proof is missing or wrong: a signature made with the webhook's secret, or the secret as a bearer token.").ConfigureAwait(false);
                return;
            }
            if (body is null)
            {
                await HttpAnswers.WriteErrorAsync(http, StatusCodes.Status400BadRequest, ErrorCodes.TooLarge, "The body is over 1 MiB.").ConfigureAwait(false);
                return;
            }
            var payload = WebhookProviders.Parser(provider).Parse(body.Value, name => http.Request.Headers.TryGetValue(name, out var v) ? v.ToString() : null);
            if (payload.OccurredAt is { } at && time.GetUtcNow() - at > MaxAge)
            {
                await service.LogRefusedAsync(webhook!, payload, Stale, $"The event happened at {at:O}, more than a day ago.", ct).ConfigureAwait(false);
                await HttpAnswers.WriteErrorAsync(http, StatusCodes.Status401Unauthorized, ErrorCodes.Forbidden, "The delivery is more than a day old.").ConfigureAwait(false);
                return;
            }
            var outcome = await service.HandleAsync(webhook!, payload, durable, ct).ConfigureAwait(false);
            var answer = new WebhookResponse(outcome.Imports.Select(i => new WebhookResponseImport(i.NodeServiceId, i.ImportId)).ToList());
            await HttpAnswers.WriteJsonAsync(http, answer.Imports.Count > 0 ? StatusCodes.Status202Accepted : StatusCodes.Status200OK,
                JsonSerializer.SerializeToUtf8Bytes(answer, WebhookJsonContext.Default.WebhookResponse)).ConfigureAwait(false);
        }
        catch (PipelineException e)
        {
            await HttpAnswers.WriteErrorAsync(http, e).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            LogUnhandled(logger, provider, e);
            await HttpAnswers.WriteErrorAsync(http, StatusCodes.Status500InternalServerError, ErrorCodes.Internal, "The delivery failed unexpectedly; the registry may retry it.").ConfigureAwait(false);
        }
    }

    /// <summary>The secret as <c>Authorization: Bearer</c>, or for Docker Hub (which cannot send headers) as <c>?token=</c>; then the body.</summary>
    private static async Task<(bool Proven, ReadOnlyMemory<byte>? Body)> ReadWithTokenAsync(HttpRequest request, string provider, string secret, CancellationToken ct)
    {
        string? token = RequestBodies.BearerKey(request)
            ?? (provider == WebhookProviders.DockerHub && request.Query.TryGetValue("token", out var t) ? t.ToString() : null);
        if (!WebhookProof.TokenMatches(token, secret))
        {
            return (false, null);
        }
        return (true, await RequestBodies.ReadBoundedAsync(request, MaxBodyBytes, ct).ConfigureAwait(false));
    }

    /// <summary>The body and whether <c>X-Hub-Signature-256</c> is its HMAC; a body over 1 MiB is still hashed (up to 16 MiB) so a forgery reads 401, not 400.</summary>
    private static async Task<(bool Proven, ReadOnlyMemory<byte>? Body)> ReadSignedAsync(HttpRequest request, string secret, CancellationToken ct)
    {
        if (request.ContentLength > MaxHashedBytes)
        {
            return (false, null);
        }
        using var hmac = WebhookProof.NewBodyHmac(secret);
        using var kept = new MemoryStream();
        var buffer = new byte[16 * 1024];
        long total = 0;
        int n;
        while ((n = await request.Body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            total += n;
            if (total > MaxHashedBytes)
            {
                return (false, null);
            }
            hmac.AppendData(buffer, 0, n);
            if (total <= MaxBodyBytes)
            {
                kept.Write(buffer, 0, n);
            }
        }
        bool proven = WebhookProof.SignatureMatches(request.Headers["X-Hub-Signature-256"].ToString(), hmac.GetHashAndReset());
        return (proven, total > MaxBodyBytes ? null : kept.GetBuffer().AsMemory(0, (int)kept.Length));
    }

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "…" : text;

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on the {Provider} webhook")]
    private static partial void LogUnhandled(ILogger logger, string provider, Exception exception);
}
