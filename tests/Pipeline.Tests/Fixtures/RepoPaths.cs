using System.Runtime.CompilerServices;

namespace Pipeline.Tests.Fixtures;

/// <summary>
/// Locations in the repository checkout, so fixtures find the pinned tools in <c>node_modules/</c>
/// even when the tests are built into an artifacts folder outside the checkout.
/// </summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder that holds <c>Pipeline.sln</c>.</summary>
    public static string Root => LazyRoot.Value;

    public static string NodeModules => Path.Combine(Root, "node_modules");

    /// <summary>Azurite's entry script, installed by <c>npm ci</c>.</summary>
    public static string AzuriteScript => Path.Combine(NodeModules, "azurite", "dist", "src", "azurite.js");

    /// <summary>Runs <see cref="AzuriteScript"/> with the Node settings every local run uses (execs node).</summary>
    public static string AzuriteLauncher => Path.Combine(Root, "scripts", "azurite.sh");

    public static string SetupScript => Path.Combine(Root, "scripts", "setup.sh");

    private static string FindRoot()
    {
        // PIPELINE_REPO_ROOT wins; then the test output folder, the working directory, and the
        // folder this file was compiled from (the output may live outside the checkout).
        var fromEnv = Environment.GetEnvironmentVariable("PIPELINE_REPO_ROOT");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return File.Exists(Path.Combine(fromEnv, "Pipeline.sln"))
                ? Path.GetFullPath(fromEnv)
                : throw new InvalidOperationException($"PIPELINE_REPO_ROOT='{fromEnv}' does not contain Pipeline.sln.");
        }
        string[] starts = [AppContext.BaseDirectory, Directory.GetCurrentDirectory(), SourceDirectory()];
        foreach (var start in starts)
        {
            if (WalkUp(start) is { } root)
            {
                return root;
            }
        }
        throw new InvalidOperationException(
            $"Cannot find the repository root (a folder with Pipeline.sln) above {string.Join(", ", starts)}. " +
            "Set PIPELINE_REPO_ROOT to the checkout.");
    }

    private static string? WalkUp(string start)
    {
        if (string.IsNullOrEmpty(start) || !Path.IsPathRooted(start))
        {
            return null;
        }
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                return dir.FullName;
            }
        }
        return null;
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path) ?? "";
}
