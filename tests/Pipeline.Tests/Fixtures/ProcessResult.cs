namespace Pipeline.Tests.Fixtures;

/// <summary>The outcome of a command run by <see cref="ProcessRunner"/>.</summary>
public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);
