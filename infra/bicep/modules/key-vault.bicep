// Key Vault for registry credentials: the only place a customer's registry password is kept.
// RBAC authorization (no access policies), soft delete and purge protection, no public
// template access; the app reads and writes secrets with its managed identity.

@description('Region of the vault.')
param location string

@description('Tags of the vault.')
param tags object

@description('Vault name (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param name string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 30
    enablePurgeProtection: true
    enabledForTemplateDeployment: false
    enabledForDeployment: false
    enabledForDiskEncryption: false
    publicNetworkAccess: 'Enabled'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
