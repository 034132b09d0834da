namespace Pipeline.Imports;

/// <summary>Import states of the public contract.</summary>
public static class ImportStatus
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";

    public static bool IsTerminal(string status) => status is Completed or Failed;
}
