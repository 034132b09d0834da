// Entry point for `azd up`: one resource group holding the pipeline's Function App
// (Flex Consumption), its storage account, monitoring, the identity the app runs as, the
// Service Bus topic deployment messages go to, and the Front Door endpoint devices download
// snapshot blobs from.
targetScope = 'subscription'

@description('Name of the azd environment; names the resource group and tags every resource.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region of every resource (must offer Flex Consumption).')
@minLength(1)
param location string

@description('Resource group name. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Bearer key with the admin role, set as Pipeline__AdminKey. Empty: admin calls are refused.')
@secure()
param pipelineAdminKey string = ''

@description('Most instances the Function App scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each Function App instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

var tags = {
  'azd-env-name': environmentName
}

// Short, stable suffix so that globally unique names (storage, app) do not collide.
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var functionAppName = 'func-pipeline-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'st${resourceToken}'
    snapshotsContainerName: 'snapshots'
    deploymentContainerName: deploymentContainerName
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'id-pipeline-${resourceToken}'
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'kv-${take(resourceToken, 21)}'
  }
}

module serviceBus 'modules/service-bus.bicep' = {
  name: 'service-bus'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'sb-pipeline-${resourceToken}'
    topicName: 'deployments'
  }
}

module frontDoor 'modules/front-door.bicep' = {
  name: 'front-door'
  scope: rg
  params: {
    tags: tags
    profileName: 'afd-${resourceToken}'
    endpointName: 'snapshots-${resourceToken}'
    blobEndpoint: storage.outputs.blobEndpoint
  }
}

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    serviceBusTopicName: serviceBus.outputs.topicName
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  // The host reads its storage and the deployment package as soon as the app exists.
  dependsOn: [
    roleAssignments
  ]
  params: {
    location: location
    tags: tags
    appTags: union(tags, { 'azd-service-name': 'api' })
    planName: 'plan-${resourceToken}'
    name: functionAppName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    adminKey: pipelineAdminKey
    keyVaultUri: keyVault.outputs.uri
    downloadsBaseUrl: frontDoor.outputs.baseUrl
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  }
}

// azd reads these into the environment (.azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
// Public base URL of the snapshot blobs (Pipeline__Downloads__BaseUrl of the app).
output PIPELINE_DOWNLOADS_BASE_URL string = frontDoor.outputs.baseUrl
// Host name of the namespace (Pipeline__ServiceBus__FullyQualifiedNamespace of the app); gateways
// connect here with their own Entra ID identities. The name is what `az servicebus` commands take.
output PIPELINE_SERVICEBUS_FULLY_QUALIFIED_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output AZURE_SERVICEBUS_NAMESPACE_NAME string = serviceBus.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
