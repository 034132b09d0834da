using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.DurableTask.Client;
using Pipeline.Api.Limits;
using Pipeline.Rollouts;
using Microsoft.Net.Http.Headers;

namespace Pipeline.Api.Devices;

/// <summary>
/// The device routes (API.md "Devices"), host-agnostic: both hosts hand over the request and the
/// route's ids. No bearer key is 401; a key that does not open the device or instance is 403;
/// a malformed body is 400 naming the field. Errors are <c>{"error": {"code", "message"}}</c>.
/// Answers carry per-device signed URLs, so nothing along the way may cache them.
/// </summary>
public sealed partial class DeviceEndpoint(DeviceApiService devices, ApiRateLimiter limiter, IOptions<ApiLimitOptions> limits, ILogger<DeviceEndpoint> logger)
{
    /// <summary>Device requests are small; a larger body is refused.</summary>
    public const long MaxRequestBytes = 1024 * 1024;

    public Task HandlePlanAsync(HttpContext http, string deviceId, string instanceId) =>
        RunAsync(http, deviceId, async (key, body, ct) =>
        {
            var request = DeviceRequests.ParsePlanRequest(body);
            var plan = await devices.PlanAsync(deviceId, instanceId, key, request, ct).ConfigureAwait(false);
            await HttpAnswers.WriteJsonAsync(http, StatusCodes.Status200OK, JsonSerializer.SerializeToUtf8Bytes(plan, DeviceJsonContext.Default.PlanResponse)).ConfigureAwait(false);
        });

    /// <summary>
    /// Records the report; when it moved a rollout, the rollout is woken by an event. The event
    /// only hastens it: a rollout that misses one reads the report at its next look.
    /// </summary>
    public Task HandleStatusAsync(HttpContext http, string deviceId, string instanceId, DurableTaskClient durable) =>
        RunAsync(http, deviceId, async (key, body, ct) =>
        {
            var report = DeviceRequests.ParseStatus(body);
            var outcome = await devices.ReportAsync(deviceId, instanceId, key, report, ct).ConfigureAwait(false);
            if (outcome.RolloutInstanceId is { } rollout)
            {
                try
                {
                    await durable.RaiseEventAsync(rollout, RolloutOrchestrator.StatusEvent, instanceId, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogNotWoken(logger, rollout, e);
                }
            }
            http.Response.StatusCode = StatusCodes.Status204NoContent;
        });

    /// <summary>
    /// The target carries an <c>ETag</c> (a hash of the answer); a request whose
    /// <c>If-None-Match</c> names it gets 304 without a body while nothing changed.
    /// </summary>
    public Task HandleTargetAsync(HttpContext http, string deviceId) =>
        RunAsync(http, deviceId, async (key, _, ct) =>
        {
            var target = await devices.TargetAsync(deviceId, key, ct).ConfigureAwait(false);
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(target, DeviceJsonContext.Default.TargetResponse);
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(json))[..32] + "\"";
            http.Response.Headers.ETag = etag;
            if (Matches(http.Request.Headers.IfNoneMatch, etag))
            {
                http.Response.Headers.CacheControl = "no-cache";
                http.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }
            await HttpAnswers.WriteJsonAsync(http, StatusCodes.Status200OK, json).ConfigureAwait(false);
        }, readBody: false);

    private async Task RunAsync(HttpContext http, string deviceId, Func<string, ReadOnlyMemory<byte>, CancellationToken, Task> handle, bool readBody = true)
    {
        // A looping device is stopped before it costs a storage read; other devices keep their own budget.
        if (limiter.TryEnter(http, RateLimitScope.Device, deviceId) is { } limited)
        {
            await HttpAnswers.WriteErrorAsync(http, limited).ConfigureAwait(false);
            return;
        }
        await HttpAnswers.WithDeadlineAsync(http, limits.Value.DeviceTimeout, ct => RunCoreAsync(http, handle, readBody, ct),
            () => HttpAnswers.WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Internal,
                $"The request took longer than {limits.Value.DeviceTimeout.TotalSeconds:0} s and was stopped; try again.")).ConfigureAwait(false);
    }

    private async Task RunCoreAsync(HttpContext http, Func<string, ReadOnlyMemory<byte>, CancellationToken, Task> handle, bool readBody, CancellationToken ct)
    {
        string? key = RequestBodies.BearerKey(http.Request);
        if (string.IsNullOrEmpty(key))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await HttpAnswers.WriteErrorAsync(http, StatusCodes.Status401Unauthorized, ErrorCodes.Forbidden, "A device key is required: Authorization: Bearer <device key>.").ConfigureAwait(false);
            return;
        }
        try
        {
            ReadOnlyMemory<byte> body = default;
            if (readBody)
            {
                body = await RequestBodies.ReadBoundedAsync(http.Request, MaxRequestBytes, ct).ConfigureAwait(false)
                    ?? throw new PipelineException(ErrorCodes.TooLarge, "The request body is over 1 MiB.");
            }
            await handle(key, body, ct).ConfigureAwait(false);
        }
        catch (PipelineException e)
        {
            await HttpAnswers.WriteErrorAsync(http, e).ConfigureAwait(false);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            LogUnhandled(logger, http.Request.Path, e);
            await HttpAnswers.WriteErrorAsync(http, StatusCodes.Status500InternalServerError, ErrorCodes.Internal, "The request failed unexpectedly; try again.").ConfigureAwait(false);
        }
    }

    private static bool Matches(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, string etag) =>
        EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags)
        && tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || string.Equals(t.Tag.ToString(), etag, StringComparison.Ordinal));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout {Rollout} was not woken by a report; it reads it at its next look")]
    private static partial void LogNotWoken(ILogger logger, string rollout, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on device route {Path}")]
    private static partial void LogUnhandled(ILogger logger, PathString path, Exception exception);
}
