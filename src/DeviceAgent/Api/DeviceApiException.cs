using System.Net;

namespace DeviceAgent.Api;

/// <summary>
/// A device route answered with an error: the HTTP status and the contract's error code and
/// message. <see cref="IsTransient"/> says whether trying again later may help (429, 5xx), as
/// opposed to an answer that will not change by itself (a wrong key, an unknown version).
/// </summary>
internal sealed class DeviceApiException(HttpStatusCode status, string? code, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    public string? Code { get; } = code;

    public bool IsTransient => Status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)Status >= 500;
}
