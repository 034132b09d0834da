namespace DeviceAgent.Store;

/// <summary>
/// A plan's download URL answered 403: it expired (plans hand out short-lived URLs) or was not
/// meant for this blob. The cure is a new plan, not a retry of the same URL.
/// </summary>
internal sealed class UrlExpiredException(string message) : Exception(message);
