using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DeviceAgent.Api;

/// <summary>
/// The device's side of API.md "Devices": the target (with <c>If-None-Match</c>), an instance's
/// plan, and status reports, each with <c>Authorization: Bearer &lt;device key&gt;</c>. A busy or
/// unreachable API (429, 5xx, a dropped connection, no answer within 30 s) is tried a few times
/// with a growing pause, honouring <c>Retry-After</c>; any other error is thrown at once as a
/// <see cref="DeviceApiException"/> with the contract's code and message.
/// </summary>
internal sealed class DeviceApiClient(HttpClient http, Uri apiBase, string deviceId, Func<string> deviceKey)
{
    private const int MaxAttempts = 3;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    public string DeviceId => deviceId;

    /// <summary>The device's target; with <paramref name="ifNoneMatch"/>, a 304 while nothing changed.</summary>
    public async Task<TargetAnswer> GetTargetAsync(string? ifNoneMatch, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, Route($"api/devices/{Uri.EscapeDataString(deviceId)}/target"));
            if (ifNoneMatch is not null)
            {
                request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
            }
            return request;
        }, cancellationToken).ConfigureAwait(false);
        string? etag = response.Headers.ETag?.ToString();
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            return new TargetAnswer(true, etag ?? ifNoneMatch, null);
        }
        var target = await ReadAsync(response, AgentJsonContext.Default.TargetResponse, cancellationToken).ConfigureAwait(false);
        return new TargetAnswer(false, etag, target);
    }

    /// <summary>
    /// The plan behind <paramref name="planUrl"/> (a path relative to the API's origin, as the
    /// target and the messages give it) for a device that holds <paramref name="have"/>;
    /// <paramref name="accept"/> names the plan extensions it understands (<c>chunks</c>).
    /// </summary>
    public async Task<PlanResponse> GetPlanAsync(string planUrl, IReadOnlyList<string> have, IReadOnlyList<string>? accept, CancellationToken cancellationToken)
    {
        var uri = new Uri(apiBase, planUrl);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = Json(new PlanRequest(have, accept), AgentJsonContext.Default.PlanRequest),
        }, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, AgentJsonContext.Default.PlanResponse, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reports the state of one instance at one version.</summary>
    public async Task ReportAsync(string instanceId, StatusReport report, CancellationToken cancellationToken)
    {
        var uri = Route($"api/devices/{Uri.EscapeDataString(deviceId)}/instances/{Uri.EscapeDataString(instanceId)}/status");
        var body = report with { Message = StatusReport.Trim(report.Message) };
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = Json(body, AgentJsonContext.Default.StatusReport),
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A JSON body with its Content-Length (not chunked: some gateways in front of an API refuse that).</summary>
    private static ByteArrayContent Json<T>(T value, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private Uri Route(string path) => new(apiBase.ToString().TrimEnd('/') + "/" + path);

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            using var request = create();
            // Read per request: a key rotated on disk (DM_create_device_key) is used at once.
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", deviceKey());
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RequestTimeout);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (attempt >= MaxAttempts)
                {
                    throw e is HttpRequestException ? e : new TimeoutException($"The API at {apiBase} did not answer within {RequestTimeout.TotalSeconds:0} s.", e);
                }
                await Task.Delay(Backoff(attempt, null), cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotModified)
            {
                return response;
            }
            using (response)
            {
                var error = await ErrorOfAsync(response, cancellationToken).ConfigureAwait(false);
                if (!error.IsTransient || attempt >= MaxAttempts)
                {
                    throw error;
                }
                await Task.Delay(Backoff(attempt, response.Headers.RetryAfter), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static TimeSpan Backoff(int failedAttempt, RetryConditionHeaderValue? retryAfter)
    {
        var wanted = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : (TimeSpan?)null);
        if (wanted is { } w && w > TimeSpan.Zero)
        {
            return w < MaxRetryAfter ? w : MaxRetryAfter;
        }
        return TimeSpan.FromMilliseconds(500 * Math.Pow(2, failedAttempt - 1) * (0.8 + (0.4 * Random.Shared.NextDouble())));
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false)
                ?? throw new DeviceApiException(response.StatusCode, null, $"{response.RequestMessage?.RequestUri?.AbsolutePath} answered null.");
        }
        catch (JsonException e)
        {
            throw new DeviceApiException(response.StatusCode, null, $"{response.RequestMessage?.RequestUri?.AbsolutePath} answered JSON the agent cannot read: {e.Message}");
        }
    }

    private static async Task<DeviceApiException> ErrorOfAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string path = response.RequestMessage?.RequestUri?.AbsolutePath ?? "?";
        ErrorDetail? detail = null;
        try
        {
            detail = (await response.Content.ReadFromJsonAsync(AgentJsonContext.Default.ErrorBody, cancellationToken).ConfigureAwait(false))?.Error;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or HttpRequestException)
        {
            // Not the contract's error body (a proxy's page, an empty body): the status says enough.
        }
        string message = detail?.Message ?? response.ReasonPhrase ?? "no message";
        return new DeviceApiException(response.StatusCode, detail?.Code, $"{path}: {(int)response.StatusCode} {detail?.Code ?? ""} {message}".Replace("  ", " ", StringComparison.Ordinal));
    }
}
