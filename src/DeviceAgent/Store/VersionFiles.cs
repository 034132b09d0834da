using System.Text.Json;
using DeviceAgent.Api;

namespace DeviceAgent.Store;

/// <summary>What goes into a version's folder besides the blobs: the manifest, and the plan's env, network and config map.</summary>
internal sealed record VersionFiles(VersionManifest Manifest, byte[] Env, PlanNetwork? Network, JsonElement? ConfigMap);
