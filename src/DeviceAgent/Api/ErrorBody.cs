namespace DeviceAgent.Api;

/// <summary>The error body of every device route: <c>{"error": {"code", "message"}}</c>.</summary>
internal sealed record ErrorBody(ErrorDetail? Error);

/// <summary>An error's code (one of API.md's codes) and a message a person can act on.</summary>
internal sealed record ErrorDetail(string? Code, string? Message);
