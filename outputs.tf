output "function_name" {
  description = "Name of the inference function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "Unqualified ARN of the inference function."
  value       = module.function.function_arn
}

output "function_version" {
  description = "Newest published function version (the canary while one runs)."
  value       = module.function.version
}

output "alias_name" {
  description = "Name of the alias the stream invokes."
  value       = module.function.alias_name
}

output "alias_arn" {
  description = "ARN of the alias the stream invokes."
  value       = module.function.alias_arn
}

output "live_function_version" {
  description = "Version the alias sends all traffic to (or, during a canary, the stable share). Pass it as stable_function_version when starting a canary."
  value       = module.function.alias_function_version
}

output "canary_function_version" {
  description = "Version receiving canary_weight of the traffic; null without a canary."
  value       = local.canary ? module.function.version : null
}

output "alias_routing" {
  description = "The alias's additional version weights ({} without a canary)."
  value       = module.function.alias_routing
}

output "model" {
  description = "The model serving the stable traffic, NAME/VERSION."
  value       = "${var.model_name}/${var.model_version}"
}

output "canary_model" {
  description = "The model on the canary version, NAME/VERSION; null without a canary."
  value       = local.canary ? local.function_model_key : null
}

output "deps_layer_kind" {
  description = "The deps layer serving the stable traffic (model_version's): lean (numpy + mmh3) or sklearn."
  value       = try(local.models[local.model_version_key].deps_layer, null)
}

output "canary_deps_layer_kind" {
  description = "The deps layer on the canary version (canary_model_version's): lean or sklearn; null without a canary."
  value       = local.canary ? local.function_deps_kind : null
}

output "deps_layer_version_arn" {
  description = "ARN of the scikit-learn dependencies layer version (attached for models whose deps_layer is sklearn)."
  value       = module.deps_layer.arn
}

output "lean_deps_layer_version_arn" {
  description = "ARN of the lean dependencies layer version (numpy + mmh3, attached for lean models); null when no built model needs it."
  value       = one(module.lean_deps_layer[*].arn)
}

output "model_layer_version_arn" {
  description = "ARN of the model layer version on the newest function version."
  value       = module.model_layer.arn
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = module.iam.role_arn
}

output "role_name" {
  description = "Name of the execution role."
  value       = module.iam.role_name
}

output "log_group_name" {
  description = "The function's log group."
  value       = module.function.log_group_name
}

output "stream_name" {
  description = "Source stream producers put records into."
  value       = module.kinesis_trigger.stream_name
}

output "stream_arn" {
  description = "ARN of the source stream."
  value       = module.kinesis_trigger.stream_arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the Kinesis event source mapping."
  value       = module.kinesis_trigger.event_source_mapping_uuid
}

output "failure_queue_url" {
  description = "URL of the SQS queue holding records of batches that failed every retry."
  value       = module.kinesis_trigger.failure_queue_url
}

output "failure_queue_arn" {
  description = "ARN of the failure queue."
  value       = module.kinesis_trigger.failure_queue_arn
}

output "artifact_bucket" {
  description = "Bucket holding the uploaded layer and function zips."
  value       = module.artifact_bucket.bucket_id
}

output "sink" {
  description = "Where predictions go: none, s3://BUCKET/PREFIX, a table name or a stream name."
  value       = module.sink.target
}
