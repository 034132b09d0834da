// The Function App on Flex Consumption (plan FC1, Linux). The app runs as the user-assigned
// identity: it deploys its package from blob storage, reaches the host storage and the pipeline's
// storage, sends telemetry and deployment messages, all with that identity and without any key.

@description('Region of the resources.')
param location string

@description('Tags applied to the plan.')
param tags object

@description('Tags applied to the app (includes azd-service-name).')
param appTags object

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the Function App.')
param name string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Name of the storage account (host storage and pipeline storage).')
param storageAccountName string

@description('Blob endpoint of the storage account, with a trailing slash.')
param blobEndpoint string

@description('Queue endpoint of the storage account.')
param queueEndpoint string

@description('Table endpoint of the storage account.')
param tableEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (locates the ingestion endpoint).')
param applicationInsightsConnectionString string

@description('.NET version of the isolated worker.')
param dotnetVersion string = '10.0'

@description('Most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Bearer key with the admin role. Empty: no admin key is set and admin calls are refused.')
@secure()
param adminKey string = ''

@description('URI of the Key Vault holding registry credentials.')
param keyVaultUri string

@description('Host name of the Service Bus namespace (<name>.servicebus.windows.net) holding the deployments topic.')
param serviceBusFullyQualifiedNamespace string

@description('Public base URL of the snapshot blobs (the Front Door endpoint); stands in for the blob service root in download URLs.')
param downloadsBaseUrl string

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

// Identity-based connections only. The names follow the Functions convention
// `<connection>__accountName|credential|clientId` for the host, and the pipeline's own
// `Pipeline__Storage__*` section for the app (see README, "Configuration").
var baseSettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'Pipeline__Storage__BlobServiceUri', value: blobEndpoint }
  { name: 'Pipeline__Storage__QueueServiceUri', value: queueEndpoint }
  { name: 'Pipeline__Storage__TableServiceUri', value: tableEndpoint }
  { name: 'Pipeline__Storage__ClientId', value: identityClientId }
  { name: 'Pipeline__Secrets__KeyVaultUri', value: keyVaultUri }
  // Devices download `<BaseUrl>/snapshots/sha256/<hex>?<SAS>` through the CDN, not from the account.
  { name: 'Pipeline__Downloads__BaseUrl', value: downloadsBaseUrl }
  // Deployment messages go to topic `deployments` of this namespace (not the storage queue),
  // sent with the user-assigned identity named by its client id.
  { name: 'Pipeline__ServiceBus__FullyQualifiedNamespace', value: serviceBusFullyQualifiedNamespace }
  { name: 'Pipeline__ServiceBus__ClientId', value: identityClientId }
  // Lets DefaultAzureCredential pick the user-assigned identity (there is no system-assigned one).
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsightsConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
]

var adminKeySettings = empty(adminKey) ? [] : [{ name: 'Pipeline__AdminKey', value: adminKey }]

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: appTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(baseSettings, adminKeySettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
  }
}

// Deployment goes through Entra ID (azd, az functionapp deploy); no basic-auth publishing.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
output uri string = 'https://${app.properties.defaultHostName}'
