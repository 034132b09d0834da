using System.Text.Json.Serialization;

namespace Pipeline.Registry;

/// <summary>
/// Source-generated JSON for registry documents. Duplicate properties are refused so that two
/// parsers can never read different layers or configs out of the same (digest-verified) bytes.
/// </summary>
[JsonSourceGenerationOptions(AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ManifestDocument))]
[JsonSerializable(typeof(ImageConfigDocument))]
[JsonSerializable(typeof(TokenResponse))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
