using System.Globalization;

namespace DeviceAgent.Store;

/// <summary>Free space of the store's filesystem, and how a full disk shows itself.</summary>
internal static class DiskSpace
{
    /// <summary>ENOSPC on Linux: .NET puts the errno in an <see cref="IOException"/>'s HResult.</summary>
    private const int Enospc = 28;

    /// <summary>EDQUOT: a user quota is as full as a full disk.</summary>
    private const int Edquot = 122;

    /// <summary>Bytes an unprivileged writer may still use on the filesystem holding <paramref name="path"/> (statvfs).</summary>
    public static long FreeBytes(string path) => new DriveInfo(path).AvailableFreeSpace;

    /// <summary>True when a write failed because the filesystem (or a quota) is full.</summary>
    public static bool IsDiskFull(IOException e) =>
        e.HResult is Enospc or Edquot
        || e.Message.Contains("no space", StringComparison.OrdinalIgnoreCase);

    /// <summary>Bytes for people: <c>3.0 MiB</c>.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? bytes.ToString(CultureInfo.InvariantCulture) + " B"
            : value.ToString("0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }
}
